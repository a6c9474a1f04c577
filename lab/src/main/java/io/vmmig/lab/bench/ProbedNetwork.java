package io.vmmig.lab.bench;

import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.net.GuestLan;
import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

/**
 * The bench's {@code --outside-probe}: the guest has a NIC on the lab's guest LAN, so its QEMUs run inside
 * the hosts' namespaces (source on A, destination on B, each through a wrapper entering the namespace;
 * their sockets are UNIX sockets, reachable from every namespace), and each run probes the guest from the
 * client namespace (a UDP datagram every 10 ms) for the downtime from outside.
 */
record ProbedNetwork(GuestLan lan, Path qemuOnA, Path qemuOnB) {
    static final Duration INTERVAL = Duration.ofMillis(10);

    /** Builds the guest LAN in {@code lab} (bridges age after 300 s, Linux's default) and the wrappers in {@code dir}. */
    static ProbedNetwork create(NetworkLab lab, Path dir) throws IOException {
        GuestLan lan = lab.guestLan(Duration.ofSeconds(300));
        lan.pinGuestNeighbour();
        return new ProbedNetwork(lan, wrapper(lab, LabHost.A, dir), wrapper(lab, LabHost.B, dir));
    }

    private static Path wrapper(NetworkLab lab, LabHost host, Path dir) throws IOException {
        Path p = dir.resolve("qemu-on-host-" + host.name().toLowerCase(java.util.Locale.ROOT));
        Files.writeString(p, "#!/bin/sh\nexec " + String.join(" ", lab.prefix(host)) + " " + QemuProcess.DEFAULT_BINARY + " \"$@\"\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    /** {@code b} set up to run on {@code host} with the guest's NIC. */
    QemuProcess.Builder on(LabHost host, QemuProcess.Builder b) {
        return b.binary((host == LabHost.A ? qemuOnA : qemuOnB).toString()).nic(lan.nic());
    }
}
