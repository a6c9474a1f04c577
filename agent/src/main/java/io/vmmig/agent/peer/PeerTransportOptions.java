package io.vmmig.agent.peer;

import io.vmmig.strategy.peer.SocketPeerChannel;
import java.time.Duration;

/**
 * Tuning of a peer connection.
 *
 * @param writeLowWaterMark   outbound bytes below which a blocked {@code send} resumes
 * @param writeHighWaterMark  outbound bytes queued above which {@code send} blocks
 * @param readHighWaterMark   received frame bytes waiting for the handler above which reading stops
 * @param maxFrameLength      largest frame accepted
 * @param handshakeTimeout    TLS handshake, and on the server the time allowed until the HELLO
 */
public record PeerTransportOptions(int writeLowWaterMark, int writeHighWaterMark, int readHighWaterMark,
                                   int maxFrameLength, Duration handshakeTimeout) {
    public static final PeerTransportOptions DEFAULT = new PeerTransportOptions(
            2 * 1024 * 1024, 8 * 1024 * 1024, 8 * 1024 * 1024, SocketPeerChannel.MAX_FRAME, Duration.ofSeconds(10));

    public PeerTransportOptions {
        if (writeLowWaterMark <= 0 || writeHighWaterMark < writeLowWaterMark)
            throw new IllegalArgumentException("bad write water marks " + writeLowWaterMark + ".." + writeHighWaterMark);
        if (readHighWaterMark <= 0) throw new IllegalArgumentException("bad read high water mark " + readHighWaterMark);
    }

    public PeerTransportOptions withWaterMarks(int writeLow, int writeHigh, int readHigh) {
        return new PeerTransportOptions(writeLow, writeHigh, readHigh, maxFrameLength, handshakeTimeout);
    }
}
