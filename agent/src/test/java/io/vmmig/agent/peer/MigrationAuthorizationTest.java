package io.vmmig.agent.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.FrameDecoder;
import io.vmmig.strategy.peer.FrameEncoder;
import io.vmmig.strategy.peer.SocketPeerChannel;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** HELLO tokens checked by a real TLS server: every bad token gets UNAUTHORIZED and never reaches the application. */
class MigrationAuthorizationTest extends PeerFixture {

    private PeerUnauthorizedException refused(String clientCert, String migrationId, byte[] token) {
        PeerServer server = tlsServer("server", "ca", Set.of());
        PeerConnector connector = connector(clientTls(clientCert, "ca"));
        return assertThrows(PeerUnauthorizedException.class,
                () -> connector.connect("localhost", server.port(), migrationId, token, TIMEOUT));
    }

    private void assertUnauthorized(PeerUnauthorizedException e, String reason) throws InterruptedException {
        assertEquals(Frame.Error.UNAUTHORIZED, e.code());
        assertEquals(reason, e.reason());
        assertEquals("refused " + reason, nextRefusal().replaceFirst("^refused 127\\.0\\.0\\.1:\\d+: ", "refused "));
        assertEquals(0, admittedCount.get(), "the application never sees a refused channel");
    }

    @Test
    void expiredToken() throws Exception {
        byte[] token = issuer.issue("m1", SOURCE_A, Duration.ofMinutes(5));
        clock.advance(Duration.ofMinutes(6));
        assertUnauthorized(refused("source-a", "m1", token), "token for migration m1 expired at 2026-01-01T00:05:00Z");
    }

    @Test
    void tokenOfAnotherMigration() throws Exception {
        byte[] token = issuer.issue("m1", SOURCE_A, Duration.ofMinutes(5));
        issuer.issue("m2", SOURCE_A, Duration.ofMinutes(5));
        assertUnauthorized(refused("source-a", "m2", token), "token was issued for another migration, not m2");
    }

    @Test
    void garbageToken() throws Exception {
        issuer.issue("m1", SOURCE_A, Duration.ofMinutes(5));
        assertUnauthorized(refused("source-a", "m1", "not a token".getBytes()), "token not recognised for migration m1");
    }

    @Test
    void tokenPresentedWithAnotherClientCertificate() throws Exception {
        byte[] token = issuer.issue("m1", SOURCE_A, Duration.ofMinutes(5));
        assertUnauthorized(refused("source-b", "m1", token),
                "token for migration m1 was issued to CN=source-a, presented by CN=source-b");
    }

    @Test
    void goodTokenIsWelcomedOnce() throws Exception {
        PeerServer server = tlsServer("server", "ca", Set.of());
        PeerConnector connector = connector(clientTls("source-a", "ca"));
        byte[] token = issuer.issue("m1", SOURCE_A, Duration.ofMinutes(5));
        NettyPeerChannel channel = connector.connect("localhost", server.port(), "m1", token, TIMEOUT);
        assertEquals("m1", nextAdmitted().migrationId());
        assertEquals(1, admittedCount.get());
        channel.close();
    }

    /**
     * A raw client pipelines a bad HELLO, a good HELLO and data: the server examines only the first,
     * answers exactly one ERROR and closes; nothing after the refused HELLO is read.
     */
    @Test
    void afterARefusalNothingIsReadOrWritten() throws Exception {
        byte[] good = issuer.issue("m1", null, Duration.ofMinutes(5));
        AtomicInteger examined = new AtomicInteger();
        PeerServer server = closing(server(PeerTransportOptions.DEFAULT).insecure()
                .authorizer((id, token, client) -> {
                    examined.incrementAndGet();
                    return issuer.authorize(id, token, client);
                }).start());
        FrameEncoder enc = new FrameEncoder();
        List<Frame> answers = new ArrayList<>();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.setSoTimeout((int) TIMEOUT.toMillis());
            ByteBuffer out = ByteBuffer.allocate(64 * 1024);
            out.put(enc.encode(new Frame.Hello(Frame.PROTOCOL_VERSION, "m1", new byte[32])));
            out.put(enc.encode(new Frame.Hello(Frame.PROTOCOL_VERSION, "m1", good)));
            for (int i = 0; i < 50; i++) out.put(enc.encode(new Frame.Ack(i, 1))); // all in one first read (2 KiB)
            s.getOutputStream().write(out.array(), 0, out.position());
            FrameDecoder dec = new FrameDecoder(SocketPeerChannel.MAX_FRAME, answers::add);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            for (int n; (n = in.read(buf)) >= 0; ) dec.feed(ByteBuffer.wrap(buf, 0, n));
        }
        assertEquals(List.of(new Frame.Error(Frame.Error.UNAUTHORIZED, "token not recognised for migration m1")), answers);
        assertEquals(1, examined.get(), "only the first HELLO is examined");
        assertEquals(0, admittedCount.get());
    }

    @Test
    void silentClientIsDroppedAfterTheHelloTimeout() throws Exception {
        PeerTransportOptions quick = new PeerTransportOptions(65536, 262144, 262144, SocketPeerChannel.MAX_FRAME,
                Duration.ofMillis(300));
        PeerServer server = closing(server(quick).insecure().start());
        List<Frame> answers = new ArrayList<>();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.setSoTimeout((int) TIMEOUT.toMillis());
            FrameDecoder dec = new FrameDecoder(SocketPeerChannel.MAX_FRAME, answers::add);
            byte[] buf = new byte[4096];
            for (int n; (n = s.getInputStream().read(buf)) >= 0; ) dec.feed(ByteBuffer.wrap(buf, 0, n));
        }
        assertEquals(List.of(new Frame.Error(Frame.Error.PROTOCOL, "no HELLO within 300 ms")), answers);
        assertEquals(0, admittedCount.get());
    }

    @Test
    void connectGivesUpAtItsDeadlineWhenNoWelcomeComes() throws Exception {
        try (java.net.ServerSocket mute = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            PeerConnector connector = closing(PeerConnector.insecure(PeerTransportOptions.DEFAULT));
            PeerTransportException e = assertThrows(PeerTransportException.class, () -> connector.connect(
                    "127.0.0.1", mute.getLocalPort(), "m1", new byte[32], Duration.ofMillis(500)));
            assertEquals("no WELCOME from 127.0.0.1:" + mute.getLocalPort() + " within 500 ms", e.getMessage());
        }
    }

    @Test
    void firstFrameMustBeHello() throws Exception {
        PeerServer server = closing(server(PeerTransportOptions.DEFAULT).insecure().start());
        List<Frame> answers = new ArrayList<>();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.setSoTimeout((int) TIMEOUT.toMillis());
            ByteBuffer done = new FrameEncoder().encode(new Frame.Done());
            s.getOutputStream().write(done.array(), 0, done.remaining());
            FrameDecoder dec = new FrameDecoder(SocketPeerChannel.MAX_FRAME, answers::add);
            byte[] buf = new byte[4096];
            for (int n; (n = s.getInputStream().read(buf)) >= 0; ) dec.feed(ByteBuffer.wrap(buf, 0, n));
        }
        assertEquals(List.of(new Frame.Error(Frame.Error.PROTOCOL, "expected HELLO first, got DONE")), answers);
        assertEquals(0, admittedCount.get());
    }
}
