package io.vmmig.agent.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import java.io.IOException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlClientTest {
    private final ScriptedAgent agent = new ScriptedAgent();

    ControlClientTest() throws IOException {
    }

    @AfterEach
    void stop() throws IOException {
        agent.close();
    }

    private static Instant soon() {
        return Instant.now().plusSeconds(10);
    }

    @Test
    void eventsSplitAcrossWritesAndJoinedInOne() throws Exception {
        String accepted = "{\"event\":\"accepted\",\"id\":\"m-1\",\"vm\":\"vm-é\",\"dest\":\"b\",\"strategy\":\"hybrid\"}\n";
        String phase = "{\"event\":\"phase\",\"id\":\"m-1\",\"phase\":\"pushing\",\"elapsedMillis\":5}\n";
        String failure = "{\"event\":\"error\",\"id\":\"m-1\",\"kind\":\"NO_SPACE\",\"message\":\"no room\"}\n";
        int eAcute = accepted.getBytes(StandardCharsets.UTF_8).length - accepted.substring(accepted.indexOf("é") + 1)
                .getBytes(StandardCharsets.UTF_8).length - 1;
        agent.on(ControlRequest.Op.WATCH, (r, c) -> {
            c.writeSplit(accepted, 1, 10, eAcute, accepted.getBytes(StandardCharsets.UTF_8).length - 1);
            c.write(phase + failure.substring(0, 20));
            c.write(failure.substring(20));
        });
        try (ControlClient client = ControlClient.connect(agent.socket())) {
            client.send(ControlRequest.watch("m-1"));
            ReceivedEvent a = client.next(soon());
            assertEquals(new ControlEvent.Accepted("m-1", "vm-é", "b", "hybrid"), a.event());
            assertArrayEquals(accepted.strip().getBytes(StandardCharsets.UTF_8), a.raw(), "raw bytes kept, UTF-8 split mid-character");
            assertEquals(new ControlEvent.PhaseChange("m-1", MigrationPhase.PUSHING, 5), client.next(soon()).event());
            ReceivedEvent f = client.next(soon());
            assertEquals(new ControlEvent.Failure("m-1", ErrorKind.NO_SPACE, "no room"), f.event());
            assertTrue(f.event().terminal());
        }
        assertEquals(ControlRequest.watch("m-1"), agent.nextRequest());
    }

    @Test
    void agentClosingMidStreamIsReported() throws Exception {
        agent.on(ControlRequest.Op.WATCH, (r, c) -> c.write("{\"event\":\"cancelling\",\"id\":\"m-1\"}\n{\"event\":\"pha"));
        try (ControlClient client = ControlClient.connect(agent.socket())) {
            client.send(ControlRequest.watch("m-1"));
            assertInstanceOf(ControlEvent.Cancelling.class, client.next(soon()).event());
            ControlClientException e = assertThrows(ControlClientException.class, () -> client.next(soon()));
            assertEquals(ErrorKind.UNREACHABLE, e.kind());
            assertTrue(e.getMessage().contains("went away") && e.getMessage().contains(agent.socket().toString()), e.getMessage());
        }
    }

    @Test
    void deadlinePerLine() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        agent.on(ControlRequest.Op.LIST, (r, c) -> release.await(10, TimeUnit.SECONDS));
        try {
            long start = System.nanoTime();
            ControlClientException e = assertThrows(ControlTimeoutException.class,
                    () -> ControlClient.ask(agent.socket(), ControlRequest.list(), Duration.ofMillis(300)));
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(tookMillis >= 300 && tookMillis < 5000, "took " + tookMillis + " ms");
            assertTrue(e.getMessage().contains("did not answer in time"), e.getMessage());
        } finally {
            release.countDown();
        }
    }

    @Test
    void wakeupReturnsNullWithoutLosingEvents() throws Exception {
        CountDownLatch woken = new CountDownLatch(1);
        agent.on(ControlRequest.Op.WATCH, (r, c) -> {
            assertTrue(woken.await(10, TimeUnit.SECONDS));
            c.send(new ControlEvent.Cancelling("m-1"));
        });
        try (ControlClient client = ControlClient.connect(agent.socket())) {
            client.send(ControlRequest.watch("m-1"));
            Thread waker = new Thread(client::wakeup);
            waker.start();
            assertNull(client.next(null), "woken before any event");
            woken.countDown();
            assertEquals(new ControlEvent.Cancelling("m-1"), client.next(soon()).event());
        }
    }

    @Test
    void lineThatIsNotAnEvent() throws Exception {
        agent.on(ControlRequest.Op.LIST, (r, c) -> c.write("{\"event\":\"bogus\"}\n"));
        ControlClientException e = assertThrows(ControlClientException.class,
                () -> ControlClient.ask(agent.socket(), ControlRequest.list(), Duration.ofSeconds(10)));
        assertEquals(ErrorKind.UNREACHABLE, e.kind());
        assertTrue(e.getMessage().contains("cannot read") && e.getMessage().contains("bogus"), e.getMessage());
    }

    @Test
    void noSocket(@TempDir Path dir) {
        Path socket = dir.resolve("control.sock");
        ControlClientException e = assertThrows(ControlClientException.class, () -> ControlClient.connect(socket));
        assertEquals(ErrorKind.UNREACHABLE, e.kind());
        assertEquals("no vmmig agent at " + socket + ": is `vmmig agent` running?", e.getMessage());
    }

    @Test
    void socketNotAccepting(@TempDir Path dir) throws IOException {
        Path socket = dir.resolve("stale.sock");
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket), "the socket file stays after its listener closed");
        ControlClientException e = assertThrows(ControlClientException.class, () -> ControlClient.connect(socket));
        assertEquals(ErrorKind.UNREACHABLE, e.kind());
        assertTrue(e.getMessage().startsWith("no vmmig agent at " + socket) && e.getMessage().contains("connection refused"),
                e.getMessage());
    }

    @Test
    void permissionDeniedSaysRootIsNeeded() {
        // root (these tests' user) is never refused by file permissions, so the errno's message is given here
        ControlClientException e = ControlClient.connectFailure(Path.of("/run/vmmig/control.sock"),
                new SocketException("Permission denied"));
        assertEquals(ErrorKind.UNREACHABLE, e.kind());
        assertTrue(e.getMessage().contains("/run/vmmig/control.sock") && e.getMessage().contains("root-only: vmmig needs root"),
                e.getMessage());
    }

    @Test
    void permissionDeniedOnAGroupSocketNamesTheGroup(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path socket = java.nio.file.Files.createFile(dir.resolve("control.sock"));
        java.nio.file.Files.setPosixFilePermissions(socket, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw----"));
        String group = java.nio.file.Files.readAttributes(socket, java.nio.file.attribute.PosixFileAttributes.class).group().getName();
        ControlClientException e = ControlClient.connectFailure(socket, new SocketException("Permission denied"));
        assertEquals(ErrorKind.UNREACHABLE, e.kind());
        assertTrue(e.getMessage().contains("permission denied (the control socket is for root and the members of group " + group
                + " (the agent's control-socket.group)"), e.getMessage());
    }

    @Test
    void requestIsOneJsonLine() throws Exception {
        agent.on(ControlRequest.Op.MIGRATE, (r, c) -> c.send(new ControlEvent.Failure(null, ErrorKind.NOT_FOUND, "no VM vm9")));
        ControlRequest request = ControlRequest.migrate("vm9", "hostb", "precopy", 1000L, 3, 65536, "/srv/x.qcow2");
        ReceivedEvent answer = ControlClient.ask(agent.socket(), request, Duration.ofSeconds(10));
        assertEquals(request, agent.nextRequest());
        assertEquals(ControlCodec.encode(new ControlEvent.Failure(null, ErrorKind.NOT_FOUND, "no VM vm9")), answer.line());
    }
}
