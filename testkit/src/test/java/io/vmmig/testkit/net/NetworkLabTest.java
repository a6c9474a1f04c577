package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vmmig.testkit.TestKitException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real namespaces: lifecycle, reachability, shaping commands, counters, stale sweep. */
class NetworkLabTest {

    @BeforeAll
    static void needsRootAndNetns() {
        var reason = NetworkLab.unavailableReason();
        assumeTrue(reason.isEmpty(), () -> "skipping network lab tests: " + reason.orElse(""));
    }

    @Test
    void upAndDownLeavesNoNamespace(@TempDir Path tmp) {
        String a;
        String b;
        Process inside;
        TcpForwarder forwarder;
        try (NetworkLab lab = NetworkLab.create()) {
            a = lab.namespace(LabHost.A);
            b = lab.namespace(LabHost.B);
            assertTrue(LabNamespaces.list().containsAll(List.of(a, b)), "both namespaces exist");
            assertTrue(lab.exec(LabHost.A, "ip", "-o", "addr", "show", "dev", "veth-a").contains("10.213.0.1/30"));
            assertTrue(lab.exec(LabHost.B, "ip", "-o", "link", "show", "lo").contains("UP"), "loopback up in B");
            String ping = lab.exec(LabHost.A, "busybox", "ping", "-c", "1", "-W", "5", LabHost.B.address());
            assertTrue(ping.contains("1 packets received"), ping);
            assertFalse(LabCommand.attempt(List.of("busybox", "ping", "-c", "1", "-W", "1", LabHost.B.address()))
                    .output().contains("1 packets received"), "10.213.0.2 must not be reachable from the host");
            inside = lab.spawn(LabHost.B, new ProcessBuilder("busybox", "sleep", "600"));
            assertTrue(inside.isAlive());
            forwarder = lab.forwarder(LabHost.A, Endpoint.unix(tmp.resolve("f.sock")),
                    Endpoint.tcp(LabHost.B.address(), 9), Duration.ZERO);
            assertTrue(Files.exists(tmp.resolve("f.sock")));
        }
        assertFalse(forwarder.isAlive(), "forwarder killed with the lab");
        assertTrue(Files.notExists(tmp.resolve("f.sock")), "forwarder socket removed");
        assertFalse(LabNamespaces.list().contains(a), a + " deleted");
        assertFalse(LabNamespaces.list().contains(b), b + " deleted");
        assertFalse(inside.isAlive(), "process spawned in the lab killed");
    }

    @Test
    void failingBodyStillRemovesTheLab() {
        String[] names = new String[2];
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> {
            try (NetworkLab lab = NetworkLab.create()) {
                names[0] = lab.namespace(LabHost.A);
                names[1] = lab.namespace(LabHost.B);
                lab.shape(50_000_000);
                // a process started behind the lab's back (e.g. by a raw prefix) is killed too
                new ProcessBuilder(lab.command(LabHost.A, List.of("busybox", "sleep", "600"))).start();
                throw new IllegalStateException("test body failed");
            }
        });
        assertEquals("test body failed", thrown.getMessage());
        List<String> left = LabNamespaces.list();
        assertFalse(left.contains(names[0]) || left.contains(names[1]), "namespaces left: " + left);
        assertThrows(TestKitException.class, () -> LabCommand.run(List.of("ip", "netns", "pids", names[0])));
    }

    @Test
    void shapeAndCountersAreVisibleInTheKernel() {
        try (NetworkLab lab = NetworkLab.create()) {
            lab.shape(100_000_000);
            for (LabHost h : LabHost.values()) {
                String qdisc = LabCommand.run(List.of("tc", "-n", lab.namespace(h), "qdisc", "show", "dev",
                        h.interfaceName()));
                assertTrue(qdisc.contains("tbf") && qdisc.contains("rate 100Mbit") && qdisc.contains("burst 64Kb"),
                        h + ": " + qdisc);
            }
            InterfaceCounters before = lab.counters(LabHost.A);
            lab.exec(LabHost.A, "busybox", "ping", "-c", "3", "-i", "0.2", "-s", "1000", "-W", "5",
                    LabHost.B.address());
            InterfaceCounters grown = lab.counters(LabHost.A).minus(before);
            assertTrue(grown.txPackets() >= 3 && grown.txBytes() >= 3 * 1028, "A sent 3 pings: " + grown);
            assertTrue(grown.rxPackets() >= 3 && grown.rxBytes() >= 3 * 1028, "A got 3 replies: " + grown);
            lab.unshaped();
            assertFalse(LabCommand.run(List.of("tc", "-n", lab.namespace(LabHost.A), "qdisc", "show", "dev",
                    "veth-a")).contains("tbf"));
            assertTrue(lab.shape().isEmpty());
        }
    }

    @Test
    void sweepRemovesNamespacesOfDeadJvmsOnly() throws Exception {
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor(10, TimeUnit.SECONDS);
        String stale = "vmmig-" + dead.pid() + "-abc123-7-a";
        LabCommand.run(List.of("ip", "netns", "add", stale));
        Process orphan = new ProcessBuilder("ip", "netns", "exec", stale, "busybox", "sh", "-c",
                "echo inside; exec busybox sleep 600").start();
        try (NetworkLab mine = NetworkLab.create()) {
            String line = new java.io.BufferedReader(new java.io.InputStreamReader(orphan.getInputStream())).readLine();
            assertEquals("inside", line, "the orphan runs inside the stale namespace");
            NetworkLab.sweepStale();  // (another JVM's first lab may have swept it already: check the result)
            assertFalse(LabNamespaces.list().contains(stale), "stale namespace deleted");
            assertTrue(orphan.waitFor(10, TimeUnit.SECONDS), "process inside the stale namespace killed");
            assertTrue(LabNamespaces.list().contains(mine.namespace(LabHost.A)), "a live JVM's lab is kept");
        } finally {
            orphan.destroyForcibly();
            LabCommand.attempt(List.of("ip", "netns", "delete", stale));
        }
    }

    @Test
    void forwarderThatCannotListenFailsWithItsStderr() {
        try (NetworkLab lab = NetworkLab.create()) {
            TestKitException e = assertThrows(TestKitException.class, () -> lab.forwarder(LabHost.A,
                    Endpoint.tcp(LabHost.B.address(), 5000), Endpoint.tcp(LabHost.B.address(), 5001), Duration.ZERO));
            System.out.println("forwarder failure: " + e.getMessage());
            assertTrue(e.getMessage().contains("did not start") && e.getMessage().contains("cannot listen on tcp:"
                    + LabHost.B.address() + ":5000"), e.getMessage());
        }
    }
}
