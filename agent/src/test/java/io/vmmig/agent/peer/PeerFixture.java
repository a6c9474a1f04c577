package io.vmmig.agent.peer;

import io.vmmig.testkit.pki.TestPki;

import io.vmmig.strategy.peer.PeerChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * A PKI made with openssl once per test class, servers and connectors closed after each test:
 * CA "vmmig test CA" issues server (localhost, 127.0.0.1), wronghost (elsewhere.example), source-a,
 * source-b, server-rsa and source-a-rsa (RSA keys); the unrelated CA "unrelated CA" issues server2 (localhost, 127.0.0.1) and rogue-a (CN=source-a).
 */
abstract class PeerFixture {
    static final X500Principal SOURCE_A = new X500Principal("CN=source-a");
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    @TempDir
    static Path pkiDir;
    static TestPki pki;

    final List<AutoCloseable> toClose = new ArrayList<>();
    final ManualClock clock = new ManualClock();
    final TokenIssuer issuer = new TokenIssuer(clock);
    /** Channels the servers admitted, with their migration ids. */
    final LinkedBlockingQueue<Admitted> admitted = new LinkedBlockingQueue<>();
    final AtomicInteger admittedCount = new AtomicInteger();
    final LinkedBlockingQueue<String> refusals = new LinkedBlockingQueue<>();

    record Admitted(String migrationId, PeerChannel channel) { }

    @BeforeAll
    static void makePki() throws Exception {
        pki = new TestPki(pkiDir);
        pki.ca("ca", "vmmig test CA");
        pki.ca("ca2", "unrelated CA");
        pki.leaf("server", "localhost", "DNS:localhost,IP:127.0.0.1", "ca");
        pki.leaf("wronghost", "elsewhere.example", "DNS:elsewhere.example", "ca");
        pki.leaf("source-a", "source-a", "DNS:source-a", "ca");
        pki.leaf("source-b", "source-b", "DNS:source-b", "ca");
        pki.leaf("server2", "localhost", "DNS:localhost,IP:127.0.0.1", "ca2");
        pki.leaf("server-rsa", "localhost", "DNS:localhost,IP:127.0.0.1", "ca", true);
        pki.leaf("source-a-rsa", "source-a", "DNS:source-a", "ca", true);
        pki.leaf("rogue-a", "source-a", "DNS:source-a", "ca2");
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) toClose.get(i).close();
    }

    <T extends AutoCloseable> T closing(T c) {
        toClose.add(c);
        return c;
    }

    static PeerTls serverTls(String cert, String ca, Set<String> allowed) {
        return PeerTls.server(pki.key(cert), pki.cert(cert), pki.cert(ca), allowed);
    }

    static PeerTls clientTls(String cert, String ca) {
        return PeerTls.client(pki.key(cert), pki.cert(cert), pki.cert(ca));
    }

    PeerServer.Builder server(PeerTransportOptions options) {
        return PeerServer.builder().bind("127.0.0.1", 0).authorizer(issuer).options(options)
                .onRefused(refusals::add)
                .acceptor((id, ch) -> {
                    admittedCount.incrementAndGet();
                    admitted.add(new Admitted(id, ch));
                });
    }

    PeerServer tlsServer(String cert, String ca, Set<String> allowed) {
        return closing(server(PeerTransportOptions.DEFAULT).tls(serverTls(cert, ca, allowed)).start());
    }

    PeerConnector connector(PeerTls tls) {
        return closing(PeerConnector.tls(tls, PeerTransportOptions.DEFAULT));
    }

    Admitted nextAdmitted() throws InterruptedException {
        Admitted a = admitted.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (a == null) throw new AssertionError("no channel admitted within " + TIMEOUT);
        return a;
    }

    String nextRefusal() throws InterruptedException {
        String r = refusals.poll(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        if (r == null) throw new AssertionError("no refusal within " + TIMEOUT);
        return r;
    }

    static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }

    static Set<String> none() {
        return ConcurrentHashMap.newKeySet();
    }
}
