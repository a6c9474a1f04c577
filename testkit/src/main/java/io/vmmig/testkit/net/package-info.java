/**
 * A network lab for benchmarks: {@link io.vmmig.testkit.net.NetworkLab} (two hosts as network namespaces
 * joined by a veth pair, {@code tbf}-shaped), {@link io.vmmig.testkit.net.DelayProxy} (userspace fixed
 * one-way delay) and {@link io.vmmig.testkit.net.TcpForwarder} (a delay proxy inside a namespace, bridging
 * the JVM to the lab link through Unix sockets). Needs root. Errors are
 * {@link io.vmmig.testkit.TestKitException}.
 */
package io.vmmig.testkit.net;
