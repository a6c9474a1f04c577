package io.vmmig.agent.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslHandler;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * One mutual-TLS handshake between this agent's own client and server contexts, in memory (two Netty
 * {@link EmbeddedChannel}s, bytes handed across by hand): no socket, no peer. An agent runs it once at
 * start, so that the first migration's handshakes do not pay for loading and interpreting the JDK's TLS
 * and key-exchange code (a few hundred milliseconds on a busy host). Whether the handshake succeeds does
 * not matter (e.g. a certificate naming no host the client could check): the code ran either way.
 */
public final class TlsWarmUp {
    private TlsWarmUp() {
    }

    /** Runs the handshake; true if both sides completed it. Never throws. */
    public static boolean handshake(PeerTls server, PeerTls client, Path clientCertificate) {
        EmbeddedChannel s = null;
        EmbeddedChannel c = null;
        try {
            String host = nameIn(clientCertificate);
            s = new EmbeddedChannel();
            c = new EmbeddedChannel();
            SslHandler sh = server.newHandler(s.alloc(), host, 0);
            SslHandler ch = client.newHandler(c.alloc(), host, 7410);
            s.pipeline().addLast(sh);
            c.pipeline().addLast(ch);
            for (int round = 0; round < 20 && !(sh.handshakeFuture().isDone() && ch.handshakeFuture().isDone()); round++) {
                if (!pump(c, s) & !pump(s, c)) break;
            }
            return sh.handshakeFuture().isSuccess() && ch.handshakeFuture().isSuccess();
        } catch (RuntimeException e) {
            return false;
        } finally {
            if (c != null) c.finishAndReleaseAll();
            if (s != null) s.finishAndReleaseAll();
        }
    }

    /** Moves what {@code from} wrote into {@code to}; whether anything moved. */
    private static boolean pump(EmbeddedChannel from, EmbeddedChannel to) {
        boolean moved = false;
        for (Object o; (o = from.readOutbound()) != null; ) {
            moved = true;
            try {
                to.writeInbound(o);
            } catch (RuntimeException e) {
                // a refused handshake: the other side sends its alert next round, or we stop
                if (o instanceof ByteBuf b && b.refCnt() > 0) b.release();
            }
        }
        return moved;
    }

    /** A name the certificate carries (its first subject alternative name, else "localhost"). */
    private static String nameIn(Path certificate) {
        try {
            X509Certificate cert = PeerTls.readCertificates(certificate, "certificate").get(0);
            if (cert.getSubjectAlternativeNames() != null) {
                for (List<?> san : cert.getSubjectAlternativeNames()) {
                    if (san.size() >= 2 && san.get(1) instanceof String name) return name;
                }
            }
        } catch (RuntimeException | java.security.cert.CertificateParsingException e) {
            // fall through
        }
        return "localhost";
    }
}
