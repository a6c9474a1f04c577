package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vmmig.agent.cli.ControlClient;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.peer.PeerConnector;
import io.vmmig.agent.peer.PeerTls;
import io.vmmig.agent.peer.PeerTransportOptions;
import io.vmmig.agent.peer.PeerUnauthorizedException;
import io.vmmig.agent.session.ControlLink;
import io.vmmig.agent.session.PeerMessage;
import io.vmmig.it.migration.Poll;
import io.vmmig.testkit.HostCommand;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the agents refuse, with real agent processes and a real source VM: a peer from another CA, a
 * destination whose certificate names another host, tokens of another migration or client, forged or expired,
 * too little space, a QEMU too old, an unknown VM, an unreachable agent. Each refusal names what was
 * wrong and leaves the source VM as it was (running, nothing added to its block layer) and nothing
 * at the destination.
 */
class AgentTrustIT {
    @TempDir
    static Path dir;
    static TestPki pki;
    static AgentHosts hosts;
    static TestVm vm;
    static TestVm.Snapshot before;

    @BeforeAll
    static void start() throws Exception {
        pki = AgentHosts.pki(dir);
        pki.leaf("host-x", "host-x", "IP:127.0.0.1", "ca");
        pki.ca("rogue-ca", "rogue-ca");
        pki.leaf("rogue", "rogue", "IP:127.0.0.1", "rogue-ca");
        pki.leaf("elsewhere", "elsewhere", "DNS:elsewhere.example", "ca");
        hosts = AgentHosts.start(dir, pki, List.of(), List.of());
        vm = TestVm.boot(dir, "vm-trust", 16, 200);
        before = vm.snapshot();
    }

    @AfterAll
    static void stop() throws Exception {
        if (vm != null) vm.close();
        if (hosts != null) hosts.close();
    }

    /** Sends {@code request} with the CLI's control client; every event up to the terminal one. */
    private static List<ControlEvent> exchange(Path socket, ControlRequest request) {
        List<ControlEvent> events = new ArrayList<>();
        try (ControlClient client = ControlClient.connect(socket)) {
            client.send(request);
            ControlEvent e;
            do {
                e = client.next(null).event();
                events.add(e);
            } while (!e.terminal());
        }
        return events;
    }

    private static ControlEvent.Failure refused(Path controlSocket, String dest) throws Exception {
        List<ControlEvent> events = exchange(controlSocket,
                ControlRequest.migrate(vm.qmpSocket().toString(), dest, "hybrid", null, null, null, null));
        ControlEvent last = events.get(events.size() - 1);
        assertTrue(last instanceof ControlEvent.Failure, "refused: " + last);
        TestVm.Snapshot now = vm.snapshot();
        assertEquals(before, now, "the source VM is as it was");
        assertFalse(Files.exists(hosts.imagesOf(hosts.b).resolve("vm-trust.qcow2")), "no image at the destination");
        return (ControlEvent.Failure) last;
    }

    @Test
    void aDestinationFromAnotherCaIsRefused() throws Exception {
        // the source trusts only the rogue CA: the destination's certificate is not from it
        try (AgentProcess rogue = AgentHosts.agent(dir, null, "rogue-src", "rogue", List.of(
                "tls.key = " + pki.key("rogue"), "tls.cert = " + pki.cert("rogue"), "tls.ca = " + pki.cert("rogue-ca")))) {
            ControlEvent.Failure f = refused(rogue.controlSocket, hosts.destB());
            assertEquals(ErrorKind.UNAUTHORIZED, f.kind(), f.message());
            assertTrue(f.message().contains("not trusted by CA CN=rogue-ca"), f.message());
        }
    }

    @Test
    void aSourceFromAnotherCaIsRefusedByTheDestination() throws Exception {
        // the source trusts our CA (so it accepts the destination) but presents a rogue certificate
        try (AgentProcess rogue = AgentHosts.agent(dir, null, "rogue-client", "rogue", List.of(
                "tls.key = " + pki.key("rogue"), "tls.cert = " + pki.cert("rogue"), "tls.ca = " + pki.cert("ca")))) {
            ControlEvent.Failure f = refused(rogue.controlSocket, hosts.destB());
            assertEquals(ErrorKind.UNAUTHORIZED, f.kind(), f.message());
            assertTrue(f.message().contains("does not accept our certificate"), f.message());
            Poll.until("the destination to log why (not trusted by CA CN=vmmig-test-ca)", Duration.ofSeconds(10),
                    () -> hosts.b.logText().contains("not trusted by CA CN=vmmig-test-ca"));
        }
    }

    @Test
    void aDestinationWhoseCertificateNamesAnotherHostIsRefused() throws Exception {
        try (AgentProcess elsewhere = AgentHosts.agent(dir, null, "elsewhere", "elsewhere", List.of(
                "tls.key = " + pki.key("elsewhere"), "tls.cert = " + pki.cert("elsewhere"), "tls.ca = " + pki.cert("ca")))) {
            ControlEvent.Failure f = refused(hosts.a.controlSocket, "127.0.0.1:" + elsewhere.port);
            assertEquals(ErrorKind.UNAUTHORIZED, f.kind(), f.message());
            assertTrue(f.message().contains("host name mismatch"), f.message());
        }
    }

    @Test
    void dataConnectionsNeedTheirOwnMigrationsToken() throws Exception {
        PeerTls asA = PeerTls.client(pki.key("host-a"), pki.cert("host-a"), pki.cert("ca"));
        PeerTls asX = PeerTls.client(pki.key("host-x"), pki.cert("host-x"), pki.cert("ca"));
        try (PeerConnector a = PeerConnector.tls(asA, PeerTransportOptions.DEFAULT);
             PeerConnector x = PeerConnector.tls(asX, PeerTransportOptions.DEFAULT);
             ControlLink one = new ControlLink(a.connect("127.0.0.1", hosts.b.port, "", new byte[0], Duration.ofSeconds(10)));
             ControlLink two = new ControlLink(a.connect("127.0.0.1", hosts.b.port, "", new byte[0], Duration.ofSeconds(10)))) {
            byte[] t1 = prepare(one, "m-tok00001", "tok1.qcow2");
            byte[] t2 = prepare(two, "m-tok00002", "tok2.qcow2");
            Path image = hosts.imagesOf(hosts.b).resolve("tok1.qcow2");
            long size = Files.size(image);
            String mapBefore = HostCommand.run("qemu-img", "map", "-U", "--output=json", image.toString());

            PeerUnauthorizedException foreign = assertThrows(PeerUnauthorizedException.class,
                    () -> a.connect("127.0.0.1", hosts.b.port, "m-tok00001", t2, Duration.ofSeconds(10)));
            assertTrue(foreign.getMessage().contains("token was issued for another migration, not m-tok00001"), foreign.getMessage());
            PeerUnauthorizedException forged = assertThrows(PeerUnauthorizedException.class,
                    () -> a.connect("127.0.0.1", hosts.b.port, "m-tok00001", new byte[32], Duration.ofSeconds(10)));
            assertTrue(forged.getMessage().contains("token not recognised for migration m-tok00001"), forged.getMessage());
            PeerUnauthorizedException stolen = assertThrows(PeerUnauthorizedException.class,
                    () -> x.connect("127.0.0.1", hosts.b.port, "m-tok00001", t1, Duration.ofSeconds(10)));
            assertTrue(stolen.getMessage().contains("was issued to CN=host-a, presented by CN=host-x"), stolen.getMessage());

            assertEquals(size, Files.size(image), "nothing written to the prepared image");
            assertEquals(mapBefore, HostCommand.run("qemu-img", "map", "-U", "--output=json", image.toString()));
            assertFalse(QemuProcesses.anyMentions(dir.resolve("b/state/m/m-tok00001").toString()), "no QEMU started");
            one.send(new PeerMessage.Cancel("test over"));
            two.send(new PeerMessage.Cancel("test over"));
            Poll.until("a cancelled prepare removes its image", Duration.ofSeconds(30), () -> !Files.exists(image));
        }
    }

    @Test
    void anExpiredTokenIsRefused() throws Exception {
        PeerTls asA = PeerTls.client(pki.key("host-a"), pki.cert("host-a"), pki.cert("ca"));
        try (AgentProcess shortLived = AgentHosts.agent(dir, pki, "b-ttl", "host-b", List.of("token-ttl = 1"));
             PeerConnector a = PeerConnector.tls(asA, PeerTransportOptions.DEFAULT);
             ControlLink link = new ControlLink(a.connect("127.0.0.1", shortLived.port, "", new byte[0], Duration.ofSeconds(10)))) {
            byte[] token = prepare(link, "m-ttl00001", "ttl.qcow2");
            long issued = System.nanoTime();   // the token was issued before its PREPARED arrived: its lifetime ends before issued + ttl
            // the token's lifetime is the condition waited for
            Poll.until("the token's lifetime to pass", Duration.ofSeconds(5), () -> System.nanoTime() - issued > 1_500_000_000L);
            PeerUnauthorizedException expired = assertThrows(PeerUnauthorizedException.class,
                    () -> a.connect("127.0.0.1", shortLived.port, "m-ttl00001", token, Duration.ofSeconds(10)));
            assertTrue(expired.getMessage().contains("token for migration m-ttl00001 expired at"), expired.getMessage());
            assertFalse(QemuProcesses.anyMentions(dir.resolve("b-ttl/state/m/m-ttl00001").toString()), "no QEMU started");
            link.send(new PeerMessage.Cancel("test over"));
            Path image = dir.resolve("b-ttl/images/ttl.qcow2");
            Poll.until("a cancelled prepare removes its image", Duration.ofSeconds(30), () -> !Files.exists(image));
        }
    }

    private static byte[] prepare(ControlLink link, String id, String imageName) throws Exception {
        link.send(new PeerMessage.Prepare(id, "hybrid", 256 << 10, "disk0", "qcow2", 64L << 20, 1L << 20, null, imageName,
                null, Descriptions.minimalJson("disk0"), "tokens", "7.2.0"));
        PeerMessage.Prepared p = link.expect(PeerMessage.Prepared.class, Duration.ofSeconds(30));
        return Base64.getDecoder().decode(p.token());
    }

    @Test
    void notEnoughSpaceAtTheDestinationIsRefused() throws Exception {
        Path small = Files.createDirectories(dir.resolve("small-images"));
        HostCommand.Result mount = HostCommand.attempt(null, Duration.ofSeconds(30), List.of("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small.toString()));
        assumeTrue(mount.exitCode() == 0, "needs root to mount a small tmpfs: " + mount.output());
        try (AgentProcess b = AgentHosts.agent(dir, pki, "b-small", "host-b", List.of())) {
            // the agent's image dir is the tmpfs (second image-dirs line would be a repeated key: replace the config)
            b.close();
            Path conf = dir.resolve("b-small/vmmig.conf");
            List<String> lines = Files.readAllLines(conf).stream().map(l -> l.startsWith("image-dirs") ? "image-dirs = " + small : l).toList();
            Files.write(conf, lines);
            try (AgentProcess restarted = AgentProcess.start("b-small", conf, dir.resolve("b-small/control.sock"), b.port,
                    dir.resolve("b-small/agent2.log"))) {
                ControlEvent.Failure f = refused(hosts.a.controlSocket, "127.0.0.1:" + restarted.port);
                assertEquals(ErrorKind.NO_SPACE, f.kind(), f.message());
                assertTrue(f.message().contains("not enough space at the destination: " + small), f.message());
                try (var files = Files.list(small)) {
                    assertEquals(0, files.count(), "nothing created in " + small);
                }
            }
        } finally {
            HostCommand.attempt(null, Duration.ofSeconds(30), List.of("umount", small.toString()));
        }
    }

    @Test
    void aDestinationQemuTooOldIsRefused() throws Exception {
        Path fake = dir.resolve("qemu-5.2");
        Files.writeString(fake, "#!/bin/sh\necho 'QEMU emulator version 5.2.0 (Debian 1:5.2+dfsg-11)'\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (AgentProcess old = AgentHosts.agent(dir, pki, "b-old", "host-b", List.of("qemu = " + fake))) {
            ControlEvent.Failure f = refused(hosts.a.controlSocket, "127.0.0.1:" + old.port);
            assertEquals(ErrorKind.ENVIRONMENT, f.kind(), f.message());
            assertTrue(f.message().contains("QEMU 5.2.0 at the destination is too old: vmmig needs 6.1 or later"), f.message());
            // who asked, and which agents: each side's audit log names the other's certificate, the source its caller
            String id = f.id();
            String caller = "caller=\"uid=0(root) gid=0(root)\"";
            Poll.until("the source's audit lines of " + id, Duration.ofSeconds(10), () -> auditLine(hosts.a, "event=end migration=" + id) != null);
            assertTrue(auditLine(hosts.a, "event=migrate migration=" + id).contains(caller + " dest=127.0.0.1:" + old.port + " strategy=hybrid"),
                    hosts.a.logTail());
            assertTrue(auditLine(hosts.a, "event=peer migration=" + id).contains("peer-subject=CN=host-b"), hosts.a.logTail());
            String end = auditLine(hosts.a, "event=end migration=" + id);
            assertTrue(end.contains("outcome=failed") && end.contains(caller) && end.contains("peer-subject=CN=host-b")
                    && end.contains("too old"), end);
            Poll.until("the destination's audit lines of " + id, Duration.ofSeconds(10), () -> auditLine(old, "event=end migration=" + id) != null);
            assertTrue(auditLine(old, "event=incoming migration=" + id).contains("peer-subject=CN=host-a strategy=hybrid"), old.logTail());
            assertTrue(auditLine(old, "event=end migration=" + id).contains("outcome=failed"), old.logTail());
            // and vmmig list shows them
            ControlEvent.Listing listing = (ControlEvent.Listing) exchange(hosts.a.controlSocket, ControlRequest.list()).get(0);
            io.vmmig.agent.control.MigrationStatus s = listing.migrations().stream().filter(m -> m.id().equals(id)).findFirst().orElseThrow();
            assertEquals("uid=0(root) gid=0(root)", s.caller());
            assertEquals("CN=host-b", s.peerSubject());
            ControlEvent.Listing there = (ControlEvent.Listing) exchange(old.controlSocket, ControlRequest.list()).get(0);
            assertEquals("CN=host-a", there.migrations().stream().filter(m -> m.id().equals(id)).findFirst().orElseThrow().peerSubject());
        }
    }

    @Test
    void anUnknownVmAndAnUnreachableAgentAreNamed() throws Exception {
        List<ControlEvent> e = exchange(hosts.a.controlSocket,
                ControlRequest.migrate("nosuchvm", hosts.destB(), "hybrid", null, null, null, null));
        ControlEvent.Failure f = (ControlEvent.Failure) e.get(e.size() - 1);
        assertEquals(ErrorKind.NOT_FOUND, f.kind());
        assertTrue(f.message().contains("unknown VM 'nosuchvm'"), f.message());
        ControlEvent.Failure u = refused(hosts.a.controlSocket, "127.0.0.1:" + AgentHosts.freePort());
        assertEquals(ErrorKind.UNREACHABLE, u.kind(), u.message());
        assertTrue(u.message().contains("cannot connect to 127.0.0.1:"), u.message());
    }

    /** The audit line of {@code agent}'s log that contains {@code what}, or null. */
    private static String auditLine(AgentProcess agent, String what) {
        return agent.logText().lines().filter(l -> l.contains(" audit - ") && l.contains(what)).findFirst().orElse(null);
    }
}
