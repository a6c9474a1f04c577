package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationStatus;
import io.vmmig.agent.peer.PeerConnector;
import io.vmmig.agent.peer.PeerTransportOptions;
import io.vmmig.agent.session.ControlLink;
import io.vmmig.agent.session.PeerMessage;
import io.vmmig.agent.vm.Descriptions;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One agent (insecure peer transport, no VM): its control socket's answers to requests it must refuse,
 * a migration whose VM cannot be reached, and the destination role refusing or cleaning up a prepare.
 */
class AgentTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path tmp;
    AgentConfig config;
    Agent agent;
    PeerConnector connector;

    @BeforeEach
    void start() throws Exception {
        config = AgentConfig.builder()
                .listenHost("127.0.0.1")
                .listenPort(0)
                .migrationHost("127.0.0.1")
                .allowedClients(Set.of())
                .insecure(true)
                .stateDir(tmp.resolve("state"))
                .controlSocket(tmp.resolve("run/control.sock"))
                .imageDirs(List.of(tmp.resolve("images")))
                .qemuBinary("qemu-system-x86_64")
                .vms(Map.of("web1", tmp.resolve("vms/web1/qmp.sock")))
                .timeout(Duration.ofSeconds(20))
                .tokenTtl(Duration.ofSeconds(20))
                .build();
        agent = Agent.start(config);
    }

    @AfterEach
    void stop() {
        if (connector != null) connector.close();
        agent.close();
    }

    /** One request on the control socket; every event until the agent closes the connection. */
    private List<ControlEvent> request(ControlRequest r) throws Exception {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(config.controlSocket()))) {
            Channels.newOutputStream(ch).write((ControlCodec.encode(r) + "\n").getBytes(StandardCharsets.UTF_8));
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            List<ControlEvent> events = new ArrayList<>();
            for (String l; (l = in.readLine()) != null; ) events.add(ControlCodec.decodeEvent(l));
            return events;
        }
    }

    private ControlEvent.Failure refused(ControlRequest r, ErrorKind kind, String... parts) throws Exception {
        List<ControlEvent> events = request(r);
        assertEquals(1, events.size(), events.toString());
        ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, events.get(0));
        assertEquals(kind, f.kind(), f.message());
        for (String p : parts) assertTrue(f.message().contains(p), "expected '" + p + "' in: " + f.message());
        return f;
    }

    private static ControlRequest migrate(String vm, String dest, String strategy, Long bandwidth, Integer threshold, Integer chunk) {
        return ControlRequest.migrate(vm, dest, strategy, bandwidth, threshold, chunk, null);
    }

    @Test
    void controlSocketIsRootOnlyAndListsNothingAtFirst() throws Exception {
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(config.controlSocket())));
        assertTrue(agent.peerPort() > 0);
        assertEquals(List.of(new ControlEvent.Listing(List.of())), request(ControlRequest.list()));
    }

    @Test
    void requestsAboutUnknownMigrations() throws Exception {
        refused(ControlRequest.status("m-nope"), ErrorKind.NOT_FOUND, "no migration m-nope on this agent");
        refused(ControlRequest.watch("m-nope"), ErrorKind.NOT_FOUND, "m-nope");
        refused(ControlRequest.cancel("m-nope"), ErrorKind.NOT_FOUND, "m-nope");
        refused(ControlRequest.status(null), ErrorKind.BAD_REQUEST, "missing \"id\"");
        refused(ControlRequest.cancel(" "), ErrorKind.BAD_REQUEST, "missing \"id\"");
    }

    @Test
    void migrateRequestsThatAreRefusedBeforeAnythingStarts() throws Exception {
        refused(migrate("db9", "127.0.0.1", null, null, null, null), ErrorKind.NOT_FOUND, "unknown VM 'db9'", "web1");
        refused(migrate(tmp.resolve("nowhere/qmp.sock").toString(), "127.0.0.1", null, null, null, null), ErrorKind.NOT_FOUND,
                "no QMP socket at " + tmp.resolve("nowhere/qmp.sock"));
        refused(migrate(null, "127.0.0.1", null, null, null, null), ErrorKind.BAD_REQUEST, "missing \"vm\"");
        refused(migrate("web1", null, null, null, null, null), ErrorKind.BAD_REQUEST, "missing \"dest\"");
        refused(migrate("web1", "host:port", null, null, null, null), ErrorKind.BAD_REQUEST, "bad destination: bad address 'host:port': bad port 'port'");
        refused(migrate("web1", "[::1", null, null, null, null), ErrorKind.BAD_REQUEST, "bad address '[::1'", "no ']'");
        refused(migrate("vms/web1/qmp.sock", "127.0.0.1", null, null, null, null), ErrorKind.BAD_REQUEST,
                "QMP socket path 'vms/web1/qmp.sock' is relative");
        refused(migrate("web1", "127.0.0.1", "teleport", null, null, null), ErrorKind.BAD_REQUEST, "unknown strategy 'teleport'");
        refused(migrate("web1", "127.0.0.1", null, null, null, 1000), ErrorKind.BAD_REQUEST, "chunk size 1000", "power of two");
        refused(migrate("web1", "127.0.0.1", null, null, null, 32 << 20), ErrorKind.BAD_REQUEST, "16 MiB");
        refused(migrate("web1", "127.0.0.1", null, null, 0, null), ErrorKind.BAD_REQUEST, "threshold 0");
        refused(migrate("web1", "127.0.0.1", null, 0L, null, null), ErrorKind.BAD_REQUEST, "bandwidth 0");
        refused(migrate("web1", "127.0.0.1", "mirror", 1000L, null, null), ErrorKind.BAD_REQUEST, "--bandwidth", "mirror");
        assertEquals(List.of(new ControlEvent.Listing(List.of())), request(ControlRequest.list()), "no migration was created");
    }

    @Test
    void migrationOfAnUnreachableVmFailsWithItsStream() throws Exception {
        List<ControlEvent> events = request(migrate("web1", "127.0.0.1:" + agent.peerPort(), "precopy", null, null, null));
        ControlEvent.Accepted a = assertInstanceOf(ControlEvent.Accepted.class, events.get(0), events.toString());
        assertEquals("web1", a.vm());
        assertEquals("127.0.0.1:" + agent.peerPort(), a.dest());
        assertEquals("precopy", a.strategy());
        assertTrue(a.id().matches("m-[0-9a-f]{8}"), a.id());
        ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, events.get(events.size() - 1), events.toString());
        assertEquals(ErrorKind.NOT_FOUND, f.kind());
        assertTrue(f.message().contains("cannot talk to the VM's QMP socket " + config.vms().get("web1")), f.message());
        assertEquals(new ControlEvent.PhaseChange(a.id(), MigrationPhase.FAILED, 0).phase(),
                ((ControlEvent.PhaseChange) events.get(events.size() - 2)).phase());

        MigrationStatus s = ((ControlEvent.Status) request(ControlRequest.status(a.id())).get(0)).migration();
        assertEquals(MigrationPhase.FAILED, s.phase());
        assertEquals("source", s.role());
        assertEquals(f.message(), s.error());
        refused(ControlRequest.cancel(a.id()), ErrorKind.BAD_REQUEST, "already ended (FAILED)");
        List<ControlEvent> replay = request(ControlRequest.watch(a.id()));
        assertEquals(f, replay.get(replay.size() - 1), "watching an ended migration replays its outcome");
        assertEquals(1, ((ControlEvent.Listing) request(ControlRequest.list()).get(0)).migrations().size());
    }

    @Test
    void secondAgentOnTheSameControlSocketIsRefused() throws Exception {
        AgentConfig again = AgentConfig.builder()
                .listenHost("127.0.0.1")
                .listenPort(0)
                .migrationHost("127.0.0.1")
                .allowedClients(Set.of())
                .insecure(true)
                .stateDir(tmp.resolve("state2"))
                .controlSocket(config.controlSocket())
                .imageDirs(config.imageDirs())
                .qemuBinary(config.qemuBinary())
                .vms(Map.of())
                .timeout(config.timeout())
                .tokenTtl(config.timeout())
                .build();
        AgentException e = assertThrows(AgentException.class, () -> Agent.start(again));
        assertEquals(ErrorKind.ENVIRONMENT, e.kind());
        assertTrue(e.getMessage().contains("another vmmig agent already serves " + config.controlSocket()), e.getMessage());
        assertEquals(List.of(new ControlEvent.Listing(List.of())), request(ControlRequest.list()), "the first one still serves");
    }

    @Test
    void portsTakenBetweenTheChecksAndTheStartAreConfigurationErrorsNamingTheKey() throws Exception {
        AgentConfig samePeerPort = AgentConfig.builder()
                .listenHost("127.0.0.1")
                .listenPort(agent.peerPort())
                .migrationHost("127.0.0.1")
                .allowedClients(Set.of())
                .insecure(true)
                .stateDir(tmp.resolve("state3"))
                .controlSocket(tmp.resolve("run/other.sock"))
                .imageDirs(config.imageDirs())
                .qemuBinary(config.qemuBinary())
                .vms(Map.of())
                .timeout(config.timeout())
                .tokenTtl(config.timeout())
                .build();
        AgentMisconfigured e = assertThrows(AgentMisconfigured.class, () -> Agent.start(samePeerPort));
        assertEquals("listen = 127.0.0.1:" + agent.peerPort() + ": cannot listen: Address already in use", e.getMessage(),
                "one line, not Netty's stack trace");
        AgentConfig metricsOnPeerPort = AgentConfig.builder()
                .listenHost("127.0.0.1")
                .listenPort(0)
                .migrationHost("127.0.0.1")
                .allowedClients(Set.of())
                .insecure(true)
                .stateDir(tmp.resolve("state3"))
                .controlSocket(tmp.resolve("run/other.sock"))
                .imageDirs(config.imageDirs())
                .qemuBinary(config.qemuBinary())
                .vms(Map.of())
                .timeout(config.timeout())
                .tokenTtl(config.timeout())
                .pullBandwidth(0)
                .logLevel(io.vmmig.agent.config.LogLevel.INFO)
                .metricsListen(new io.vmmig.agent.config.HostPort("127.0.0.1", agent.peerPort()))
                .build();
        e = assertThrows(AgentMisconfigured.class, () -> Agent.start(metricsOnPeerPort));
        assertTrue(e.getMessage().startsWith("metrics.listen = 127.0.0.1:" + agent.peerPort() + ": cannot listen: "), e.getMessage());
        assertTrue(e.getMessage().contains("Address already in use"), e.getMessage());
    }

    // ---- the destination role, driven by a bare control connection ----

    private ControlLink control() {
        if (connector == null) connector = PeerConnector.insecure(PeerTransportOptions.DEFAULT);
        return new ControlLink(connector.connect("127.0.0.1", agent.peerPort(), "", new byte[0], WAIT));
    }

    private static PeerMessage.Prepare prepare(String id, String strategy, String target) {
        return new PeerMessage.Prepare(id, strategy, 1 << 20, java.util.List.of(new PeerMessage.Disk("disk0", "qcow2", 64L << 20, 1L << 20, null, "web1.qcow2")), target,
                Descriptions.minimal("disk0").toJson(), "web1", "7.2.22");
    }

    @Test
    void destinationRefusesABadPrepareAndCreatesNothing() throws Exception {
        try (ControlLink link = control()) {
            link.send(prepare("m-00000001", "hybrid", tmp.resolve("elsewhere/web1.qcow2").toString()));
            AgentException e = assertThrows(AgentException.class, () -> link.expect(PeerMessage.Prepared.class, WAIT));
            assertEquals(ErrorKind.BAD_REQUEST, e.kind());
            assertTrue(e.getMessage().contains("not in an image directory"), e.getMessage());
        }
        try (ControlLink link = control()) {
            link.send(prepare("m-00000002", "teleport", null));
            AgentException e = assertThrows(AgentException.class, () -> link.expect(PeerMessage.Prepared.class, WAIT));
            assertEquals(ErrorKind.BAD_REQUEST, e.kind());
            assertTrue(e.getMessage().contains("unknown strategy 'teleport'"), e.getMessage());
        }
        try (ControlLink link = control()) {
            link.send(new PeerMessage.Cancel("hello?"));
            AgentException e = assertThrows(AgentException.class, () -> link.expect(PeerMessage.Prepared.class, WAIT));
            assertEquals(ErrorKind.BAD_REQUEST, e.kind());
            assertEquals("expected prepare first", e.getMessage());
        }
        assertFalse(Files.exists(tmp.resolve("elsewhere")));
        assertNoImages();
        List<ControlEvent> failed = request(ControlRequest.watch("m-00000001"));
        ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, failed.get(failed.size() - 1));
        assertEquals(ErrorKind.BAD_REQUEST, f.kind());
    }

    @Test
    void destinationRemovesItsImageWhenTheSourceGoesAwayAfterPrepare() throws Exception {
        PeerMessage.Prepared prepared;
        try (ControlLink link = control()) {
            link.send(prepare("m-00000003", "hybrid", null));
            prepared = link.expect(PeerMessage.Prepared.class, WAIT);
            assertEquals(config.imageDirs().get(0).resolve("web1.qcow2").toString(), prepared.images().get(0));
            assertTrue(Files.exists(Path.of(prepared.images().get(0))), "the destination created the image");
            assertFalse(prepared.token().isEmpty());
        }   // the source vanishes before its data connection
        List<ControlEvent> events = request(ControlRequest.watch("m-00000003"));
        ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, events.get(events.size() - 1), events.toString());
        assertEquals(ErrorKind.CANCELLED, f.kind(), f.message());
        assertTrue(f.message().contains("the source went away"), f.message());
        assertFalse(Files.exists(Path.of(prepared.images().get(0))), "nothing left at the destination");
        MigrationStatus s = ((ControlEvent.Status) request(ControlRequest.status("m-00000003")).get(0)).migration();
        assertEquals("destination", s.role());
        assertEquals(MigrationPhase.CANCELLED, s.phase());
    }

    private void assertNoImages() throws Exception {
        Path images = config.imageDirs().get(0);
        if (!Files.exists(images)) return;
        try (Stream<Path> s = Files.list(images)) {
            assertEquals(List.of(), s.toList());
        }
    }
}
