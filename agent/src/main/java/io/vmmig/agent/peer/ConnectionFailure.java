package io.vmmig.agent.peer;

import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.vmmig.strategy.peer.PeerChannelClosedException;
import io.vmmig.strategy.peer.PeerProtocolException;
import java.io.IOException;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/** Turns what broke a peer connection (TLS, framing, I/O) into one exception with a message for the operator. */
final class ConnectionFailure {
    private static final Pattern ALERT = Pattern.compile("Received fatal alert: (\\w+)");
    private static final Set<String> CERTIFICATE_ALERTS = Set.of("bad_certificate", "certificate_unknown", "unknown_ca",
            "certificate_required", "access_denied", "certificate_expired", "certificate_revoked", "unsupported_certificate");

    private ConnectionFailure() { }

    static RuntimeException explain(Throwable t, String remote) {
        if (t instanceof PeerTransportException || t instanceof PeerChannelClosedException) return (RuntimeException) t;
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof PeerCertificateException p)
                return new PeerTransportException("TLS handshake with " + remote + " refused: " + p.getMessage(), t);
        }
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof PeerProtocolException p)
                return new PeerTransportException("invalid frames from " + remote + ": " + p.getMessage(), t);
            if (c instanceof SslHandshakeTimeoutException)
                return new PeerTransportException("TLS handshake with " + remote + " timed out", t);
            if (c instanceof NotSslRecordException)
                return new PeerTransportException(remote + " does not speak TLS (an --insecure peer?)", t);
            if (c instanceof SSLException s) return tls(s, remote, t);
        }
        Throwable root = t instanceof DecoderException && t.getCause() != null ? t.getCause() : t;
        if (root instanceof IOException)
            return new PeerChannelClosedException("connection to " + remote + " broke: " + root.getMessage(), t);
        return new PeerTransportException("connection to " + remote + " failed: " + root, t);
    }

    private static RuntimeException tls(SSLException s, String remote, Throwable t) {
        String msg = String.valueOf(s.getMessage());
        if (msg.contains("Empty client certificate chain") || msg.contains("Empty server certificate chain"))
            return new PeerTransportException("TLS handshake with " + remote + " refused: " + remote
                    + " presented no certificate", t);
        Matcher m = ALERT.matcher(msg);
        if (m.find()) {
            String alert = m.group(1);
            if (CERTIFICATE_ALERTS.contains(alert))
                return new PeerTransportException("TLS handshake with " + remote + " refused by the peer (alert " + alert
                        + "): it does not accept our certificate, or requires one", t);
            return new PeerTransportException("TLS with " + remote + " failed (alert " + alert + ")", t);
        }
        return new PeerTransportException("TLS with " + remote + " failed: " + msg, t);
    }
}
