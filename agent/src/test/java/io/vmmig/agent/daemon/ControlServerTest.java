package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control socket: JSON lines over a real UNIX socket. */
class ControlServerTest {
    @TempDir
    Path dir;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : toClose) c.close();
    }

    private ControlServer start(Path socket, ControlServer.Handler h) throws AgentException {
        ControlServer s = ControlServer.start(socket, h);
        toClose.add(s);
        return s;
    }

    /** Sends one request line, returns every line until the server closes. */
    private static List<String> exchange(Path socket, String requestLine) throws Exception {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            Channels.newOutputStream(ch).write((requestLine + "\n").getBytes(StandardCharsets.UTF_8));
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            List<String> lines = new ArrayList<>();
            for (String l; (l = in.readLine()) != null; ) lines.add(l);
            return lines;
        }
    }

    @Test
    void oneRequestPerConnectionEventsUntilTheHandlerReturns() throws Exception {
        Path socket = dir.resolve("run/vmmig/control.sock");
        LinkedBlockingQueue<ControlRequest> seen = new LinkedBlockingQueue<>();
        ControlServer s = start(socket, (c, r, out) -> {
            seen.add(r);
            out.send(new ControlEvent.Accepted("m-1", r.vm(), r.dest(), "hybrid"));
            out.send(new ControlEvent.PhaseChange("m-1", MigrationPhase.PUSHING, 3));
            out.send(new ControlEvent.Failure("m-1", ErrorKind.CANCELLED, "cancelled by the operator"));
        });
        assertEquals(socket, s.path());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)), "root only");
        List<String> lines = exchange(socket, ControlCodec.encode(ControlRequest.migrate("web1", "dst", null, null, null, null, null)));
        assertEquals(3, lines.size(), lines.toString());
        assertEquals(new ControlEvent.Accepted("m-1", "web1", "dst", "hybrid"), ControlCodec.decodeEvent(lines.get(0)));
        assertEquals(ErrorKind.CANCELLED, ((ControlEvent.Failure) ControlCodec.decodeEvent(lines.get(2))).kind());
        assertEquals(ControlRequest.Op.MIGRATE, seen.poll(5, TimeUnit.SECONDS).op());
    }

    @Test
    void badRequestLineIsAnsweredWithoutReachingTheHandler() throws Exception {
        Path socket = dir.resolve("control.sock");
        LinkedBlockingQueue<ControlRequest> seen = new LinkedBlockingQueue<>();
        start(socket, (c, r, out) -> seen.add(r));
        for (String bad : List.of("{\"op\":\"explode\"}", "hello", "null", "{}")) {
            List<String> lines = exchange(socket, bad);
            assertEquals(1, lines.size(), bad + " -> " + lines);
            ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, ControlCodec.decodeEvent(lines.get(0)));
            assertEquals(ErrorKind.BAD_REQUEST, f.kind(), bad);
            assertNull(f.id());
            assertTrue(f.message().contains("control request"), f.message());
        }
        assertTrue(seen.isEmpty(), seen.toString());
    }

    @Test
    void clientThatLeavesStopsTheStreamOnly() throws Exception {
        Path socket = dir.resolve("control.sock");
        CompletableFuture<Throwable> ended = new CompletableFuture<>();
        start(socket, (c, r, out) -> {
            try {
                for (int i = 0; i < 1_000_000; i++) out.send(new ControlEvent.PhaseChange("m-1", MigrationPhase.PUSHING, i));
                ended.complete(null);
            } catch (RuntimeException e) {
                ended.complete(e);
                throw e;
            }
        });
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            Channels.newOutputStream(ch).write((ControlCodec.encode(ControlRequest.watch("m-1")) + "\n").getBytes(StandardCharsets.UTF_8));
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            assertTrue(in.readLine().contains("\"phase\""));
        }
        Throwable t = ended.get(20, TimeUnit.SECONDS);
        assertInstanceOf(ControlServer.ClientGoneException.class, t, "the handler learns the client left");
        // and the server still serves
        List<String> next = exchange(socket, "nonsense");
        assertEquals(ErrorKind.BAD_REQUEST, ((ControlEvent.Failure) ControlCodec.decodeEvent(next.get(0))).kind());
    }

    @Test
    void staleSocketIsReplacedALiveOneIsNot() throws Exception {
        Path socket = dir.resolve("control.sock");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket), "a socket file left by a dead agent");
        ControlServer s = start(socket, (c, r, out) -> out.send(new ControlEvent.Cancelling("m-9")));
        assertEquals(List.of("{\"event\":\"cancelling\",\"id\":\"m-9\"}"), exchange(socket, "{\"op\":\"cancel\",\"id\":\"m-9\"}"));

        AgentException twice = assertThrows(AgentException.class, () -> start(socket, (c, r, out) -> { }));
        assertEquals(ErrorKind.ENVIRONMENT, twice.kind());
        assertTrue(twice.getMessage().contains("another vmmig agent already serves " + socket), twice.getMessage());
        assertEquals(1, exchange(socket, "{\"op\":\"list\"}").size(), "the first agent still serves");

        s.close();
        assertFalse(Files.exists(socket), "closing removes the socket");
    }
}
