package io.vmmig.strategy.source;

import io.vmmig.strategy.peer.ChunkCompression;

/**
 * Knobs of the source's push.
 *
 * @param threshold       written epochs from which a chunk is no longer pushed (seed 002's Threshold)
 * @param maxRunChunks    most consecutive chunks read and sent as one push
 * @param maxInFlightBytes pushed bytes not yet acknowledged by the destination (the push window)
 * @param compression     how chunk data is compressed (push and pull answers; {@link ChunkCompression})
 * @param targetIsZero    the destination image starts all zero: all-zero chunks never pushed need no transfer
 * @param push            push before cutover at all (false: post-copy, everything is pulled)
 * @param pushBytesPerSecond most disk bytes pushed per second (token bucket, one second of burst);
 *                        0 = unlimited. Pull answers after cutover are not limited.
 * @param dedupPiece      0: no dedup. Otherwise fingerprint chunks first (FINGERPRINTS/HAVE, seed 003) in
 *                        pieces of this many bytes (the destination index's chunk size, which divides the
 *                        transfer chunk): the destination copies the pieces it holds locally and only the
 *                        others cross; only when the destination said it has an index
 */
public record SourceOptions(int threshold, int maxRunChunks, long maxInFlightBytes, ChunkCompression compression,
                            boolean targetIsZero, boolean push, long pushBytesPerSecond, int dedupPiece) {
    /** Largest single pull or push frame payload. */
    public static final int MAX_PULL = 32 * 1024 * 1024;

    public SourceOptions {
        if (threshold < 1) throw new IllegalArgumentException("threshold must be >= 1, got " + threshold);
        if (maxRunChunks < 1) throw new IllegalArgumentException("maxRunChunks must be >= 1, got " + maxRunChunks);
        if (maxInFlightBytes < 1) throw new IllegalArgumentException("maxInFlightBytes must be >= 1");
        if (compression == null) compression = ChunkCompression.OFF;
        if (dedupPiece < 0 || dedupPiece > 0 && Integer.bitCount(dedupPiece) != 1)
            throw new IllegalArgumentException("dedupPiece must be 0 or a power of two, got " + dedupPiece);
        if (pushBytesPerSecond < 0)
            throw new IllegalArgumentException("pushBytesPerSecond must be >= 0 (0 = unlimited), got " + pushBytesPerSecond);
    }

    /** No dedup. */
    public SourceOptions(int threshold, int maxRunChunks, long maxInFlightBytes, ChunkCompression compression,
                         boolean targetIsZero, boolean push, long pushBytesPerSecond) {
        this(threshold, maxRunChunks, maxInFlightBytes, compression, targetIsZero, push, pushBytesPerSecond, 0);
    }

    /** {@code compress}: deflate (the former option). */
    public SourceOptions(int threshold, int maxRunChunks, long maxInFlightBytes, boolean compress, boolean targetIsZero,
                         boolean push, long pushBytesPerSecond) {
        this(threshold, maxRunChunks, maxInFlightBytes, compress ? ChunkCompression.DEFLATE : ChunkCompression.OFF,
                targetIsZero, push, pushBytesPerSecond);
    }

    public SourceOptions(int threshold, int maxRunChunks, long maxInFlightBytes, boolean compress, boolean targetIsZero,
                         boolean push) {
        this(threshold, maxRunChunks, maxInFlightBytes, compress, targetIsZero, push, 0);
    }

    public SourceOptions(int threshold, int maxRunChunks, long maxInFlightBytes, boolean compress, boolean targetIsZero) {
        this(threshold, maxRunChunks, maxInFlightBytes, compress, targetIsZero, true, 0);
    }

    /** Whether chunk data may be compressed at all. */
    public boolean compress() {
        return compression != ChunkCompression.OFF;
    }

    /**
     * Threshold 2: every chunk is pushed once, and once more if written again; from its second
     * rewrite on it waits for the pull. Measured here with `vmmig demo` (32 MiB area, 256 KiB chunks,
     * loopback, totals 1.2-3.4 s dominated by memory): disk bytes moved for thresholds 1/2/3/10 were
     * 36/40/41/44 MiB with a 4 MiB hot set at 2000 writes/s and 64/79/114/123 MiB with writes spread
     * over the whole area at 4000 writes/s, for equal total times. Lower moves less; 2 still lets a
     * chunk written once and then left alone reach the destination before cutover instead of after.
     * 4 chunks of 256 KiB per push: 64 KiB to 1 MiB chunks moved the same bytes for the same times.
     */
    public static SourceOptions defaults() {
        return new SourceOptions(2, 4, 16L * 1024 * 1024, ChunkCompression.OFF, true, true, 0);
    }

    public SourceOptions withThreshold(int t) {
        return new SourceOptions(t, maxRunChunks, maxInFlightBytes, compression, targetIsZero, push, pushBytesPerSecond, dedupPiece);
    }

    public SourceOptions withPush(boolean on) {
        return new SourceOptions(threshold, maxRunChunks, maxInFlightBytes, compression, targetIsZero, on, pushBytesPerSecond, dedupPiece);
    }

    /** {@code on}: deflate, as the former option. */
    public SourceOptions withCompression(boolean on) {
        return withCompression(on ? ChunkCompression.DEFLATE : ChunkCompression.OFF);
    }

    public SourceOptions withCompression(ChunkCompression mode) {
        return new SourceOptions(threshold, maxRunChunks, maxInFlightBytes, mode, targetIsZero, push, pushBytesPerSecond, dedupPiece);
    }

    /** The same options with the push limited to {@code bytesPerSecond} (0 = unlimited). */
    public SourceOptions withPushBytesPerSecond(long bytesPerSecond) {
        return new SourceOptions(threshold, maxRunChunks, maxInFlightBytes, compression, targetIsZero, push, bytesPerSecond, dedupPiece);
    }

    /**
     * The same options with fingerprints of {@code pieceBytes} pieces sent before data (0: off; the
     * destination must have said it dedups, and at which piece size).
     */
    public SourceOptions withDedup(int pieceBytes) {
        return new SourceOptions(threshold, maxRunChunks, maxInFlightBytes, compression, targetIsZero, push, pushBytesPerSecond, pieceBytes);
    }

    public boolean dedup() {
        return dedupPiece > 0;
    }
}
