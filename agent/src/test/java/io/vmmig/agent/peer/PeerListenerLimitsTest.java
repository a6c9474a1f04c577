package io.vmmig.agent.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.FrameEncoder;
import io.vmmig.strategy.peer.PeerChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The peer listener's connection limits: a connection over one is closed at once; counts follow admissions and closes. */
class PeerListenerLimitsTest {
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private PeerServer server;

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : toClose) c.close();
        if (server != null) server.close();
    }

    private static void until(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("not within 20 s: " + what);
            LockSupport.parkNanos(2_000_000);
        }
    }

    private Socket from(String host) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(host, 0));
        s.connect(new InetSocketAddress("127.0.0.1", server.port()));
        s.setSoTimeout(20_000);
        toClose.add(s);
        return s;
    }

    /** The server closed {@code s} without a word (a read ends at once). */
    private static void closedAtOnce(Socket s) throws IOException {
        assertEquals(-1, s.getInputStream().read(), "closed by the listener");
    }

    @Test
    void connectionsOverALimitAreClosedAtOnce() throws Exception {
        List<PeerChannel> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
        server = PeerServer.builder().bind("127.0.0.1", 0).insecure().limits(new PeerListenerLimits(4, 3, 2))
                .authorizer((id, token, client) -> Authorization.granted())
                .acceptor((id, channel) -> accepted.add(channel)).start();
        Socket a1 = from("127.0.0.1");
        from("127.0.0.1");
        until("two open", () -> server.openConnections() == 2);
        closedAtOnce(from("127.0.0.1"));   // a third not yet authorised from 127.0.0.1
        from("127.0.0.2");
        until("three open", () -> server.openConnections() == 3);
        closedAtOnce(from("127.0.0.3"));   // a fourth not yet authorised at all
        assertEquals(2, server.refusedConnections());

        ByteBuffer hello = new FrameEncoder().encode(new Frame.Hello(Frame.PROTOCOL_VERSION, "", new byte[0]));
        a1.getOutputStream().write(hello.array(), hello.arrayOffset(), hello.remaining());
        until("a1 admitted", () -> server.unauthorisedConnections() == 2);
        from("127.0.0.1");   // room again: a1 no longer counts as not yet authorised
        until("four open", () -> server.openConnections() == 4);
        closedAtOnce(from("127.0.0.4"));   // a fifth connection at all
        assertEquals(3, server.refusedConnections());

        for (AutoCloseable c : toClose) c.close();
        toClose.clear();
        until("the admitted connection handed to the acceptor", () -> !accepted.isEmpty());
        for (PeerChannel c : accepted) c.close();   // admitted but never started: it does not read, so it would not see the close
        until("every close counted (open " + server.openConnections() + ", not yet authorised " + server.unauthorisedConnections() + ")",
                () -> server.openConnections() == 0 && server.unauthorisedConnections() == 0);
    }

    @Test
    void limitsMustNest() {
        assertThrows(IllegalArgumentException.class, () -> new PeerListenerLimits(4, 5, 2));
        assertThrows(IllegalArgumentException.class, () -> new PeerListenerLimits(4, 3, 4));
        assertThrows(IllegalArgumentException.class, () -> new PeerListenerLimits(0, 0, 0));
    }
}
