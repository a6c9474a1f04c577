package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test guest with a NIC on the guest LAN, QEMU in host A: the guest sets its address and answers the
 * outside probe from the client namespace, the switch learnt its MAC on A's port, A's tap carried the answers.
 */
class GuestLanTest {
    @TempDir
    Path tmp;

    @Test
    void theGuestOnHostAAnswersTheProbeFromTheClient() throws Exception {
        Optional<String> why = NetworkLab.unavailableReason();
        assumeTrue(why.isEmpty(), why.orElse(""));
        String client;
        try (NetworkLab lab = NetworkLab.create()) {
            GuestLan lan = lab.guestLan(Duration.ofSeconds(3));
            client = lan.clientNamespace();
            Path qemuOnA = tmp.resolve("qemu-on-a");
            Files.writeString(qemuOnA, "#!/bin/sh\nexec " + String.join(" ", lab.prefix(LabHost.A)) + " qemu-system-x86_64 \"$@\"\n");
            Files.setPosixFilePermissions(qemuOnA, PosixFilePermissions.fromString("rwxr-xr-x"));
            Workload w = Workload.defaults().withBlocks(256).withHotSet(0, 64).withRate(100);
            DiskImage disk = DiskImage.create(tmp.resolve("d.qcow2"), DiskImage.Format.QCOW2, 16L << 20);
            try (QemuProcess q = QemuProcess.builder().name("lan").binary(qemuOnA.toString()).guest(TestGuest.get(), w)
                    .nic(lan.nic()).disk(disk).start()) {
                String net = q.console().awaitLine(Pattern.compile("^VMMIG-NET eth0 "), Duration.ofMinutes(3)).text();
                assertEquals("VMMIG-NET eth0 " + GuestLan.GUEST_ADDRESS + "/24 " + GuestLan.GUEST_MAC, net);
                q.console().awaitLine(Pattern.compile("^VMMIG-NET udp-echo on 7"), Duration.ofMinutes(1));
                InterfaceCounters before = lan.tapCounters(LabHost.A);
                try (GuestProbe probe = lan.probe(Duration.ofMillis(10))) {
                    Instant start = Instant.now();
                    assertTrue(probe.awaitAnswers(50, start, Duration.ofMinutes(1)), "50 answers: " + probe.record().summary()
                            + " " + probe.output());
                    ProbeRecord r = probe.record();
                    System.out.println(r.summary());
                    assertTrue(r.replies().stream().allMatch(x -> !x.received().isBefore(x.sent())), "answers after their probes");
                }
                assertEquals(Optional.of(LabHost.A), lan.switchPortOf(GuestLan.GUEST_MAC), "the switch learnt the guest on A's port");
                assertTrue(lan.tapCounters(LabHost.A).minus(before).rxPackets() >= 50, "the answers came out of A's tap");
                assertEquals(0, lan.tapCounters(LabHost.B).rxPackets(), "nothing on B's tap: no QEMU there");
            }
        }
        assertTrue(!LabNamespaces.list().contains(client), "the client namespace went with the lab: " + LabNamespaces.list());
    }
}
