package io.vmmig.lab.bench;

import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The bench's QEMUs on the lab's hosts: the source's on A and the destination's on B, each started through a
 * wrapper that enters the host's network namespace ({@code ip netns exec NS qemu-system-x86_64 "$@"}; QMP and
 * the serial console stay UNIX sockets, reachable from every namespace). So QEMU's memory stream can go from
 * one QEMU to the other over TCP across the lab's link ({@link CrossLinks#directMemory()}), as between two
 * agents' hosts and as libvirt's {@code virsh migrate} runs it.
 */
record LabQemus(Path onA, Path onB) {

    /** Writes the two wrappers into {@code dir}. */
    static LabQemus create(NetworkLab lab, Path dir) throws IOException {
        return new LabQemus(wrapper(lab, LabHost.A, dir), wrapper(lab, LabHost.B, dir));
    }

    private static Path wrapper(NetworkLab lab, LabHost host, Path dir) throws IOException {
        Path p = dir.resolve("qemu-on-host-" + host.name().toLowerCase(java.util.Locale.ROOT));
        Files.writeString(p, "#!/bin/sh\nexec " + String.join(" ", lab.prefix(host)) + " " + QemuProcess.DEFAULT_BINARY + " \"$@\"\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    /** {@code b} set up to run on {@code host}. */
    QemuProcess.Builder on(LabHost host, QemuProcess.Builder b) {
        return b.binary((host == LabHost.A ? onA : onB).toString());
    }
}
