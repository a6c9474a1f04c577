package io.vmmig.strategy.qemu;

import java.util.Objects;

/**
 * TLS for a QEMU stream to the other host, as the client (source) side sets it: the
 * {@link QemuTlsCreds} object to use and the name the server's certificate must carry (its DNS or IP
 * subject alternative name; QEMU's {@code tls-hostname}), so a destination presenting another host's
 * certificate fails the handshake.
 */
public record StreamTls(String credsId, String hostname) {
    public StreamTls {
        Objects.requireNonNull(credsId, "credsId");
        if (hostname == null || hostname.isBlank())
            throw new IllegalArgumentException("a TLS stream to another host needs the host name its certificate must carry");
    }
}
