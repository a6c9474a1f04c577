package io.vmmig.strategy.source;

/**
 * Knobs of the source's push.
 *
 * @param threshold       written epochs from which a chunk is no longer pushed (seed 002's Threshold)
 * @param maxRunChunks    most consecutive chunks read and sent as one push
 * @param maxInFlightBytes pushed bytes not yet acknowledged by the destination (the push window)
 * @param compress        deflate chunk data when it helps
 * @param targetIsZero    the destination image starts all zero: all-zero chunks never pushed need no transfer
 * @param push            push before cutover at all (false: post-copy, everything is pulled)
 */
public record SourceOptions(int threshold, int maxRunChunks, long maxInFlightBytes, boolean compress,
                            boolean targetIsZero, boolean push) {
    /** Largest single pull or push frame payload. */
    public static final int MAX_PULL = 32 * 1024 * 1024;

    public SourceOptions {
        if (threshold < 1) throw new IllegalArgumentException("threshold must be >= 1, got " + threshold);
        if (maxRunChunks < 1) throw new IllegalArgumentException("maxRunChunks must be >= 1, got " + maxRunChunks);
        if (maxInFlightBytes < 1) throw new IllegalArgumentException("maxInFlightBytes must be >= 1");
    }

    public SourceOptions(int threshold, int maxRunChunks, long maxInFlightBytes, boolean compress, boolean targetIsZero) {
        this(threshold, maxRunChunks, maxInFlightBytes, compress, targetIsZero, true);
    }

    public static SourceOptions defaults() {
        return new SourceOptions(3, 4, 16L * 1024 * 1024, false, true, true);
    }

    public SourceOptions withThreshold(int t) {
        return new SourceOptions(t, maxRunChunks, maxInFlightBytes, compress, targetIsZero, push);
    }

    public SourceOptions withPush(boolean on) {
        return new SourceOptions(threshold, maxRunChunks, maxInFlightBytes, compress, targetIsZero, on);
    }

    public SourceOptions withCompression(boolean on) {
        return new SourceOptions(threshold, maxRunChunks, maxInFlightBytes, on, targetIsZero, push);
    }
}
