package io.vmmig.lab.bench;

import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.net.GuestLan;
import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The bench's {@code --outside-probe}: the guest has a NIC on the lab's guest LAN, so its QEMUs run inside
 * the hosts' namespaces (source on A, destination on B, each through a wrapper entering the namespace;
 * their sockets are UNIX sockets, reachable from every namespace), and each run probes the guest from the
 * client namespace (a UDP datagram every 10 ms) for the downtime from outside.
 */
record ProbedNetwork(GuestLan lan, LabQemus hosts) {
    static final Duration INTERVAL = Duration.ofMillis(10);

    /** Builds the guest LAN in {@code lab} (bridges age after 300 s, Linux's default) and the wrappers in {@code dir}. */
    static ProbedNetwork create(NetworkLab lab, Path dir) throws IOException {
        GuestLan lan = lab.guestLan(Duration.ofSeconds(300));
        lan.pinGuestNeighbour();
        return new ProbedNetwork(lan, LabQemus.create(lab, dir));
    }

    /** {@code b} set up to run on {@code host} with the guest's NIC. */
    QemuProcess.Builder on(LabHost host, QemuProcess.Builder b) {
        return hosts.on(host, b).nic(lan.nic());
    }
}
