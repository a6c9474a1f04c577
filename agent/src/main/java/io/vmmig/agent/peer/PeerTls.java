package io.vmmig.agent.peer;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * Mutual TLS between agents, from PEM files (unencrypted PKCS#8 key, certificate chain, CA): TLS 1.3 only, JDK
 * provider; each side trusts only the configured CA; the client checks the server's host name
 * (HTTPS endpoint identification); the server requires a client certificate and, when given an
 * allow-list, a client certificate whose CN or DNS name is in it.
 */
public final class PeerTls {
    static final String TLS_1_3 = "TLSv1.3";

    private final SslContext context;
    private final boolean client;

    PeerTls(SslContext context, boolean client) {
        this.context = context;
        this.client = client;
    }

    /** The destination's side: its key and certificate, the CA its clients' certificates must come from. */
    public static PeerTls server(Path key, Path cert, Path ca, Set<String> allowedClientNames) {
        CaTrustManager trust = new CaTrustManager(readCertificates(ca, "CA"), allowedClientNames);
        PeerIdentity identity = PeerIdentity.load(key, cert);
        try {
            SslContext ctx = SslContextBuilder.forServer(identity).sslProvider(SslProvider.JDK).protocols(TLS_1_3)
                    .trustManager(trust).clientAuth(ClientAuth.REQUIRE).build();
            return new PeerTls(ctx, false);
        } catch (SSLException e) {
            throw new PeerTransportException("cannot set up TLS with key " + key + " and certificate " + cert + ": " + e.getMessage(), e);
        }
    }

    /** The source's side: its key and certificate, the CA the destination's certificate must come from. */
    public static PeerTls client(Path key, Path cert, Path ca) {
        CaTrustManager trust = new CaTrustManager(readCertificates(ca, "CA"), Set.of());
        PeerIdentity identity = PeerIdentity.load(key, cert);
        try {
            SslContext ctx = SslContextBuilder.forClient().keyManager(identity).sslProvider(SslProvider.JDK)
                    .protocols(TLS_1_3).trustManager(trust).build();
            return new PeerTls(ctx, true);
        } catch (SSLException e) {
            throw new PeerTransportException("cannot set up TLS with key " + key + " and certificate " + cert + ": " + e.getMessage(), e);
        }
    }

    static List<X509Certificate> readCertificates(Path pem, String what) {
        try (InputStream in = Files.newInputStream(pem)) {
            List<X509Certificate> certs = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) certs.add((X509Certificate) c);
            if (certs.isEmpty()) throw new PeerTransportException("no certificate in " + what + " file " + pem);
            return certs;
        } catch (IOException | CertificateException e) {
            throw new PeerTransportException("cannot read " + what + " file " + pem + ": " + e.getMessage(), e);
        }
    }

    boolean isClient() {
        return client;
    }

    /** A handler for one connection to or from {@code host:port}; a client checks the server is {@code host}. */
    SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
        SslHandler handler = context.newHandler(alloc, host, port);
        if (client) {
            SSLEngine engine = handler.engine();
            SSLParameters params = engine.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            engine.setSSLParameters(params);
        }
        return handler;
    }
}
