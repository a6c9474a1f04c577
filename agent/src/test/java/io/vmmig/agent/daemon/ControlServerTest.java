package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.config.ControlSocketOptions;
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

    private ControlServer start(Path socket, ControlSocketOptions options, LocalAccounts accounts, ControlServer.Handler h)
            throws AgentException {
        ControlServer s = ControlServer.start(socket, options, accounts, h);
        toClose.add(s);
        return s;
    }

    @Test
    void theHandlerLearnsTheCallerFromTheKernel() throws Exception {
        Path socket = dir.resolve("control.sock");
        LinkedBlockingQueue<ControlCaller> callers = new LinkedBlockingQueue<>();
        start(socket, (c, r, out) -> {
            callers.add(c);
            out.send(new ControlEvent.Cancelling("m-1"));
        });
        exchange(socket, "{\"op\":\"list\"}");
        ControlCaller c = callers.poll(5, TimeUnit.SECONDS);
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        int gid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
        assertEquals(new ControlCaller(uid, System.getProperty("user.name"), gid, c.group()), c, "this process's own credentials");
        assertEquals(gid, LocalAccounts.system().gid(c.group()).getAsInt());
    }

    @Test
    void aCallerTheAccessRulesRefuseGetsOneLineAndNeverTheHandler() throws Exception {
        Path socket = dir.resolve("control.sock");
        // a database in which this process's user is uid 5000, the agent someone else, and no group configured
        String me = System.getProperty("user.name");
        FakeAccounts accounts = new FakeAccounts(4000).user(me, 5000);
        LinkedBlockingQueue<ControlRequest> seen = new LinkedBlockingQueue<>();
        start(socket, ControlSocketOptions.defaults(), accounts, (c, r, out) -> seen.add(r));
        List<String> lines = exchange(socket, "{\"op\":\"list\"}");
        assertEquals(1, lines.size(), lines.toString());
        ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, ControlCodec.decodeEvent(lines.get(0)));
        assertEquals(ErrorKind.UNAUTHORIZED, f.kind());
        assertTrue(f.message().startsWith("uid 5000 (" + me + ") may not use the control socket " + socket + ": it is for root only"),
                f.message());
        assertTrue(seen.isEmpty(), seen.toString());
    }

    @Test
    void withAGroupTheSocketIs0660OwnedByIt() throws Exception {
        Path socket = dir.resolve("control.sock");
        String group = Files.readAttributes(dir, java.nio.file.attribute.PosixFileAttributes.class).group().getName();
        start(socket, new ControlSocketOptions(group, 8, java.time.Duration.ofSeconds(10)), LocalAccounts.system(),
                (c, r, out) -> out.send(new ControlEvent.Cancelling("m-1")));
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertEquals(group, Files.readAttributes(socket, java.nio.file.attribute.PosixFileAttributes.class).group().getName());
        assertEquals(1, exchange(socket, "{\"op\":\"list\"}").size());

        AgentException e = assertThrows(AgentException.class, () -> ControlServer.start(dir.resolve("other.sock"),
                new ControlSocketOptions("no-such-group-vmmig", 8, java.time.Duration.ofSeconds(10)), LocalAccounts.system(),
                (c, r, out) -> { }));
        assertInstanceOf(AgentMisconfigured.class, e);
        assertTrue(e.getMessage().contains("control-socket.group = no-such-group-vmmig: no such group"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("other.sock")), "the refused socket is not left behind");
    }

    @Test
    void aRegularFileADirectoryOrASymlinkAtThePathIsRefusedAndLeftIntact() throws Exception {
        Path file = dir.resolve("vmmig.conf");
        Files.writeString(file, "precious\n");
        AgentException e = assertThrows(AgentMisconfigured.class, () -> start(file, (c, r, out) -> { }));
        assertTrue(e.getMessage().contains("control-socket = " + file + ": a regular file is there, not a socket"), e.getMessage());
        assertEquals("precious\n", Files.readString(file), "the file intact");

        Path directory = Files.createDirectory(dir.resolve("run"));
        e = assertThrows(AgentMisconfigured.class, () -> start(directory, (c, r, out) -> { }));
        assertTrue(e.getMessage().contains("a directory, not a socket path"), e.getMessage());
        assertTrue(Files.isDirectory(directory));

        Path link = dir.resolve("link.sock");
        Files.createSymbolicLink(link, file);
        e = assertThrows(AgentMisconfigured.class, () -> start(link, (c, r, out) -> { }));
        assertTrue(e.getMessage().contains("a symbolic link"), e.getMessage());
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("precious\n", Files.readString(file));

        Path dangling = dir.resolve("dangling.sock");
        Files.createSymbolicLink(dangling, dir.resolve("nowhere"));
        assertThrows(AgentMisconfigured.class, () -> start(dangling, (c, r, out) -> { }));
        assertFalse(Files.exists(dir.resolve("nowhere")), "nothing made where the link points");
    }

    @Test
    void closingLeavesAPathThatIsNoLongerItsSocketAlone() throws Exception {
        Path socket = dir.resolve("control.sock");
        ControlServer s = ControlServer.start(socket, (c, r, out) -> { });
        Files.delete(socket);
        Files.writeString(socket, "someone else's\n");
        s.close();
        assertEquals("someone else's\n", Files.readString(socket));
    }

    /** Opens a connection and sends nothing. */
    private SocketChannel idle(Path socket) throws Exception {
        SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        toClose.add(ch);
        return ch;
    }

    private static String readAll(SocketChannel ch) throws Exception {
        return new String(Channels.newInputStream(ch).readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void connectionsBeyondTheMostAreAnsweredAndClosedTheOthersStillServed() throws Exception {
        Path socket = dir.resolve("control.sock");
        ControlServer s = start(socket, new ControlSocketOptions(null, 3, java.time.Duration.ofHours(1)), LocalAccounts.system(),
                (c, r, out) -> out.send(new ControlEvent.Cancelling("m-1")));
        List<SocketChannel> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) held.add(idle(socket));
        String refused = readAll(idle(socket));   // the fourth: one line, then end of stream
        ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, ControlCodec.decodeEvent(refused.strip()));
        assertTrue(f.message().contains("control-socket.max-connections = 3"), f.message());
        assertEquals(3, s.openConnections());
        // one of the held connections sends its request: served as ever
        Channels.newOutputStream(held.get(0)).write("{\"op\":\"list\"}\n".getBytes(StandardCharsets.UTF_8));
        assertEquals("{\"event\":\"cancelling\",\"id\":\"m-1\"}\n", readAll(held.get(0)));
        // its slot is free again once it is served
        held.get(0).close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (s.openConnections() > 2 && System.nanoTime() < deadline) Thread.onSpinWait();
        assertEquals(List.of("{\"event\":\"cancelling\",\"id\":\"m-1\"}"), exchange(socket, "{\"op\":\"list\"}"));
    }

    @Test
    void aConnectionThatSendsNothingIsClosedAfterTheIdleTimeout() throws Exception {
        Path socket = dir.resolve("control.sock");
        ControlServer s = start(socket, new ControlSocketOptions(null, 8, java.time.Duration.ofMillis(300)), LocalAccounts.system(),
                (c, r, out) -> out.send(new ControlEvent.Cancelling("m-1")));
        SocketChannel quiet = idle(socket);
        assertEquals("", readAll(quiet), "closed by the agent without a word (the read returns end of stream)");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (s.openConnections() != 0 && System.nanoTime() < deadline) Thread.onSpinWait();
        assertEquals(0, s.openConnections());
        assertEquals(1, exchange(socket, "{\"op\":\"list\"}").size(), "still serves");
    }

    @Test
    void aRequestLineLongerThanTheBoundIsRefused() throws Exception {
        Path socket = dir.resolve("control.sock");
        LinkedBlockingQueue<ControlRequest> seen = new LinkedBlockingQueue<>();
        start(socket, (c, r, out) -> seen.add(r));
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            byte[] junk = new byte[ControlSocketOptions.MAX_REQUEST_BYTES + 1];
            java.util.Arrays.fill(junk, (byte) 'x');
            try {
                Channels.newOutputStream(ch).write(junk);
            } catch (java.io.IOException closedMeanwhile) {
                // the agent may close before all of it is written
            }
            String answer = readAll(ch);
            assertTrue(answer.contains("control request longer than " + ControlSocketOptions.MAX_REQUEST_BYTES + " bytes"), answer);
        }
        assertTrue(seen.isEmpty());
    }

    @Test
    void manyIdleConnectionsHoldNoThreads() throws Exception {
        Path socket = dir.resolve("control.sock");
        ControlServer s = start(socket, new ControlSocketOptions(null, 200, java.time.Duration.ofHours(1)), LocalAccounts.system(),
                (c, r, out) -> { });
        long before = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("vmmig-control")).count();
        for (int i = 0; i < 200; i++) idle(socket);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (s.openConnections() < 200 && System.nanoTime() < deadline) Thread.onSpinWait();
        assertEquals(200, s.openConnections());
        long after = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("vmmig-control")).count();
        assertEquals(before, after, "200 idle connections, no thread of their own");
    }

    @Test
    void theCliReadsWhyItWasTurnedAwayWhateverTheTiming() throws Exception {
        Path socket = dir.resolve("control.sock");
        ControlServer s = start(socket, new ControlSocketOptions(null, 1, java.time.Duration.ofHours(1)), LocalAccounts.system(),
                (c, r, out) -> out.send(new ControlEvent.Cancelling("m-1")));
        idle(socket);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (s.openConnections() < 1 && System.nanoTime() < deadline) Thread.onSpinWait();
        for (int i = 0; i < 20; i++) {   // the agent may close before, while or after the CLI writes its request
            ErrorKind kind;
            String said;
            try {
                ControlEvent answer = io.vmmig.agent.cli.ControlClient.ask(socket, ControlRequest.list(), java.time.Duration.ofSeconds(30)).event();
                ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, answer);
                kind = f.kind();
                said = f.message();
            } catch (io.vmmig.agent.cli.ControlClientException e) {   // the agent closed before the request was written
                kind = e.kind();
                said = e.getMessage();
            }
            assertEquals(ErrorKind.ENVIRONMENT, kind, said);
            assertTrue(said.contains("control-socket.max-connections = 1"), said);
        }
    }
}
