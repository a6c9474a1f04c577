package io.vmmig.agent.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** Frames over real mutual TLS 1.3 on loopback, and every way the handshake must refuse a peer. */
class MutualTlsTest extends PeerFixture {

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** The server side echoes every frame back; the client checks what comes back, in order. */
    private void echoRoundTrip(PeerServer server, PeerConnector connector, String host) throws Exception {
        byte[] token = issuer.issue("m1", SOURCE_A, Duration.ofMinutes(5));
        NettyPeerChannel client = connector.connect(host, server.port(), "m1", token, TIMEOUT);
        Admitted a = nextAdmitted();
        assertEquals("m1", a.migrationId());
        FrameCollector serverSeen = new FrameCollector() {
            @Override public void onFrame(PeerChannel ch, Frame f) {
                super.onFrame(ch, f);
                ch.send(f); // from the delivery thread: allowed to block
            }
        };
        a.channel().start(serverSeen);
        FrameCollector back = new FrameCollector();
        client.start(back);

        byte[] big = random(4 * 1024 * 1024, 42);
        client.send(new Frame.ChunkData(0, 1L << 30, big.length, Frame.Encoding.RAW, ByteBuffer.wrap(big)));
        for (int i = 0; i < 1000; i++) client.send(new Frame.Ack(i * 65536L, i));
        client.send(new Frame.Done());

        Frame.ChunkData echoed = assertInstanceOf(Frame.ChunkData.class, back.next());
        assertEquals(1L << 30, echoed.offset());
        assertEquals(ByteBuffer.wrap(big), echoed.payload(), "4 MiB payload bytes");
        for (int i = 0; i < 1000; i++) assertEquals(new Frame.Ack(i * 65536L, i), back.next(), "frame " + i);
        assertEquals(new Frame.Done(), back.next());
        assertEquals(1, serverSeen.threads.size(), "one delivery thread: " + serverSeen.threads);
        assertEquals(1, back.threads.size(), "one delivery thread: " + back.threads);

        client.close();
        assertNull(await(client.closed()), "orderly local close");
        assertNull(await(back.closed));
        ExecutionException e = assertThrows(ExecutionException.class, () -> await(a.channel().closed()));
        assertTrue(e.getCause().getMessage().contains("closed the connection"), e.getCause().getMessage());
    }

    @Test
    void framesRoundTripOverMutualTls() throws Exception {
        PeerServer server = tlsServer("server", "ca", Set.of("source-a"));
        echoRoundTrip(server, connector(clientTls("source-a", "ca")), "localhost");
    }

    @Test
    void rsaKeysWorkToo() throws Exception {
        PeerServer server = tlsServer("server-rsa", "ca", Set.of("source-a"));
        echoRoundTrip(server, connector(clientTls("source-a-rsa", "ca")), "127.0.0.1");
    }

    @Test
    void aKeyThatIsNotPkcs8IsRefusedClearly() throws Exception {
        java.nio.file.Path traditional = pkiDir.resolve("traditional.key");
        java.nio.file.Files.writeString(traditional, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
        PeerTransportException e = assertThrows(PeerTransportException.class,
                () -> PeerTls.client(traditional, pki.cert("source-a"), pki.cert("ca")));
        assertTrue(e.getMessage().startsWith("private key " + traditional + " is not an unencrypted PKCS#8 PEM key"), e.getMessage());
    }

    @Test
    void insecureModeCarriesFramesAndStillChecksTokens() throws Exception {
        PeerServer server = closing(server(PeerTransportOptions.DEFAULT).insecure().start());
        PeerConnector connector = closing(PeerConnector.insecure(PeerTransportOptions.DEFAULT));
        // a token bound to a certificate subject cannot be used without TLS...
        byte[] bound = issuer.issue("m0", SOURCE_A, Duration.ofMinutes(5));
        PeerUnauthorizedException e = assertThrows(PeerUnauthorizedException.class,
                () -> connector.connect("127.0.0.1", server.port(), "m0", bound, TIMEOUT));
        assertEquals("token for migration m0 was issued to CN=source-a, presented by a client without a certificate", e.reason());
        // ...one issued for any client can
        byte[] token = issuer.issue("m1", null, Duration.ofMinutes(5));
        NettyPeerChannel client = connector.connect("127.0.0.1", server.port(), "m1", token, TIMEOUT);
        Admitted a = nextAdmitted();
        FrameCollector seen = new FrameCollector();
        a.channel().start(seen);
        byte[] data = random(65536, 7);
        client.send(new Frame.ChunkData(0, 0, data.length, Frame.Encoding.RAW, ByteBuffer.wrap(data)));
        client.send(new Frame.Done());
        assertEquals(ByteBuffer.wrap(data), assertInstanceOf(Frame.ChunkData.class, seen.next()).payload());
        assertEquals(new Frame.Done(), seen.next());
        client.close();
    }

    @Test
    void tlsClientRefusesAPlainServer() throws Exception {
        PeerServer server = closing(server(PeerTransportOptions.DEFAULT).insecure().start());
        PeerTransportException e = assertThrows(PeerTransportException.class, () -> connector(clientTls("source-a", "ca"))
                .connect("127.0.0.1", server.port(), "m1", new byte[32], TIMEOUT));
        assertEquals("127.0.0.1:" + server.port() + " does not speak TLS (an --insecure peer?)", e.getMessage());
        assertEquals(0, admittedCount.get());
    }

    @Test
    void clientRefusesAServerCertificateFromAnotherCa() throws Exception {
        PeerServer server = tlsServer("server2", "ca", Set.of());
        PeerTransportException e = assertThrows(PeerTransportException.class, () -> connector(clientTls("source-a", "ca"))
                .connect("127.0.0.1", server.port(), "m1", new byte[32], TIMEOUT));
        assertTrue(e.getMessage().startsWith("TLS handshake with 127.0.0.1:" + server.port()
                + " refused: certificate of 127.0.0.1 not trusted by CA CN=vmmig test CA (it is CN=localhost, issued by CN=unrelated CA)"),
                e.getMessage());
        assertTrue(nextRefusal().contains("refused by the peer (alert"));
        assertEquals(0, admittedCount.get());
    }

    @Test
    void serverRefusesAClientCertificateFromAnotherCa() throws Exception {
        PeerServer server = tlsServer("server", "ca", Set.of());
        byte[] token = issuer.issue("m1", SOURCE_A, Duration.ofMinutes(5));
        PeerTransportException e = assertThrows(PeerTransportException.class, () -> connector(clientTls("rogue-a", "ca"))
                .connect("localhost", server.port(), "m1", token, TIMEOUT));
        assertTrue(e.getMessage().contains("refused by the peer (alert"), e.getMessage());
        String refusal = nextRefusal();
        assertTrue(refusal.matches("TLS handshake with 127\\.0\\.0\\.1:\\d+ refused: certificate of 127\\.0\\.0\\.1 not trusted"
                + " by CA CN=vmmig test CA \\(it is CN=source-a, issued by CN=unrelated CA\\).*"), refusal);
        assertEquals(0, admittedCount.get());
    }

    @Test
    void clientRefusesAServerCertificateForAnotherHost() throws Exception {
        PeerServer server = tlsServer("wronghost", "ca", Set.of());
        PeerTransportException e = assertThrows(PeerTransportException.class, () -> connector(clientTls("source-a", "ca"))
                .connect("127.0.0.1", server.port(), "m1", new byte[32], TIMEOUT));
        assertEquals("TLS handshake with 127.0.0.1:" + server.port()
                + " refused: host name mismatch: expected 127.0.0.1, certificate is for [DNS:elsewhere.example]", e.getMessage());
        PeerTransportException byName = assertThrows(PeerTransportException.class, () -> connector(clientTls("source-a", "ca"))
                .connect("localhost", server.port(), "m1", new byte[32], TIMEOUT));
        assertTrue(byName.getMessage().endsWith("host name mismatch: expected localhost, certificate is for [DNS:elsewhere.example]"),
                byName.getMessage());
        assertEquals(0, admittedCount.get());
    }

    @Test
    void serverRefusesAClientWithoutCertificate() throws Exception {
        PeerServer server = tlsServer("server", "ca", Set.of());
        CaTrustManager trust = new CaTrustManager(PeerTls.readCertificates(pki.cert("ca"), "CA"), Set.of());
        PeerTls anonymous = new PeerTls(SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
                .protocols(PeerTls.TLS_1_3).trustManager(trust).build(), true);
        PeerTransportException e = assertThrows(PeerTransportException.class,
                () -> connector(anonymous).connect("localhost", server.port(), "m1", new byte[32], TIMEOUT));
        assertTrue(e.getMessage().contains("refused by the peer (alert"), e.getMessage());
        String refusal = nextRefusal();
        assertTrue(refusal.endsWith("presented no certificate"), refusal);
        assertEquals(0, admittedCount.get());
    }

    @Test
    void serverRefusesAClientOutsideItsAllowList() throws Exception {
        PeerServer server = tlsServer("server", "ca", Set.of("source-a"));
        assertThrows(PeerTransportException.class, () -> connector(clientTls("source-b", "ca"))
                .connect("localhost", server.port(), "m1", new byte[32], TIMEOUT));
        String refusal = nextRefusal();
        assertTrue(refusal.endsWith("client certificate of 127.0.0.1 [source-b] is not in the allow-list [source-a]"), refusal);
        assertEquals(0, admittedCount.get());
    }
}
