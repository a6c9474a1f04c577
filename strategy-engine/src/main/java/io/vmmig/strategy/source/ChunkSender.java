package io.vmmig.strategy.source;

import io.vmmig.strategy.peer.ChunkCompression;
import io.vmmig.strategy.peer.ChunkPayloads;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sends disk bytes as CHUNK_DATA frames with the source's {@link ChunkCompression}: times the
 * compression and the send (for {@link AdaptiveCompression}) and counts raw and wire bytes. One per
 * source transfer, shared by the push and the pull answers.
 */
public final class ChunkSender {
    private final ChunkCompression mode;
    private final AdaptiveCompression adaptive = new AdaptiveCompression();
    private final AtomicLong compressedChunks = new AtomicLong();
    private final AtomicLong rawFallbacks = new AtomicLong();
    private final AtomicLong compressNanos = new AtomicLong();

    public ChunkSender(ChunkCompression mode) {
        this.mode = mode == null ? ChunkCompression.OFF : mode;
    }

    public ChunkCompression mode() {
        return mode;
    }

    /** Encodes {@code data} (remaining bytes) for {@code offset} and sends it; returns the frame sent. */
    public Frame.ChunkData send(PeerChannel channel, long requestId, long offset, ByteBuffer data) {
        return send(channel, requestId, offset, data, 0);
    }

    /**
     * As {@link #send(PeerChannel, long, long, ByteBuffer)}; {@code waitedNanos}: how long the caller
     * waited for room to send this chunk (the push window), counted as back-pressure like a blocked send.
     */
    public Frame.ChunkData send(PeerChannel channel, long requestId, long offset, ByteBuffer data, long waitedNanos) {
        boolean compress = switch (mode) {
            case OFF -> false;
            case DEFLATE, ZSTD -> true;
            case ADAPTIVE -> adaptive.compressNext();
        };
        Frame.Encoding codec = !compress ? Frame.Encoding.RAW : mode == ChunkCompression.DEFLATE ? Frame.Encoding.DEFLATE : Frame.Encoding.ZSTD;
        long t0 = System.nanoTime();
        Frame.ChunkData frame = ChunkPayloads.encode(requestId, offset, data, codec);
        long t1 = System.nanoTime();
        channel.send(frame);
        long t2 = System.nanoTime();
        if (compress && frame.encoding() != Frame.Encoding.ZERO) {
            compressNanos.addAndGet(t1 - t0);
            if (frame.encoding() == Frame.Encoding.RAW) rawFallbacks.incrementAndGet();
            else compressedChunks.incrementAndGet();
        }
        // all-zero chunks cost no compression and little wire: they say nothing about link or CPU
        if (mode == ChunkCompression.ADAPTIVE && frame.encoding() != Frame.Encoding.ZERO)
            adaptive.sent(compress, frame.length(), frame.payload().remaining(), t1 - t0, t2 - t1 + waitedNanos);
        return frame;
    }

    public AdaptiveCompression adaptive() {
        return adaptive;
    }

    /** Chunks sent compressed, and chunks tried but sent RAW because they did not shrink. */
    public long compressedChunks() {
        return compressedChunks.get();
    }

    public long rawFallbacks() {
        return rawFallbacks.get();
    }

    /** Nanoseconds spent compressing (all threads). */
    public long compressNanos() {
        return compressNanos.get();
    }
}
