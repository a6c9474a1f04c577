package io.vmmig.strategy;

/**
 * How many chunks a sender of requests keeps in flight, the destination's background pulls and the
 * source's pushes: enough to fill the link's bandwidth-delay product, measured rather than fixed.
 * The rule (BBR's, in chunks; for pulls a round trip is PULL sent to its CHUNK_DATA received, for
 * pushes CHUNK_DATA sent to its ACK received):
 *
 * <pre>
 * depth = clamp(ceil(GAIN x maxRate x minRtt / chunkSize), minDepth, maxDepth)
 * </pre>
 *
 * <ul>
 *   <li>{@code minRtt}: the shortest round trip seen in this transfer: the path's round trip without
 *       queueing (never expired: a minimum taken from a full queue would grow the window, which grows the
 *       queue; a path's RTT rarely changes during one migration);</li>
 *   <li>{@code maxRate}: the highest delivery rate (answered bytes per {@link #RATE_BUCKET_NANOS} bucket) of the
 *       last {@link #RATE_BUCKETS} buckets;</li>
 *   <li>{@code GAIN} 1.5: while the window limits the rate (rate = depth x chunk / RTT), the next depth is 1.5
 *       times the current one, so it grows until the link, not the window, sets the rate; then it holds at 1.5
 *       bandwidth-delay products: the extra half covers the peer's service time and rate jitter, and is
 *       the queue an on-demand pull may wait behind (half a round trip), which is why it is not 2.</li>
 * </ul>
 *
 * At 100 Mbit/s and 200 ms with 256 KiB chunks the BDP is 2.5 MB, about 10 chunks: depth 20; with 64 KiB
 * chunks, 80 (the former fixed 8 pullers held 0.5-2 MiB in flight whatever the link). Thread-safe.
 * The pushes' window is in bytes: {@code depth() x chunkSize}, never below the configured push window.
 */
public final class InFlightWindow {
    public static final double GAIN = 1.5;
    public static final long RATE_BUCKET_NANOS = 250_000_000L;
    public static final int RATE_BUCKETS = 8;

    private final int chunkSize;
    private final int minDepth;
    private final int maxDepth;
    private long minRttNanos = Long.MAX_VALUE;
    private final long[] bucketBytes = new long[RATE_BUCKETS];
    private long bucketStart = Long.MIN_VALUE;
    private int bucket;
    private double maxRate;

    /**
     * @param minDepth never fewer chunks in flight (for pulls: the former fixed puller count)
     * @param maxBytes never more than this many bytes in flight
     */
    public InFlightWindow(int chunkSize, int minDepth, long maxBytes) {
        if (chunkSize <= 0 || minDepth < 1) throw new IllegalArgumentException("chunk size and depth must be positive");
        this.chunkSize = chunkSize;
        this.minDepth = minDepth;
        this.maxDepth = (int) Math.max(minDepth, Math.min(4096, maxBytes / chunkSize));
    }

    /** A request of {@code bytes} sent at {@code sentNanos} was answered at {@code nowNanos} (System.nanoTime). */
    public synchronized void answered(long bytes, long sentNanos, long nowNanos) {
        long rtt = Math.max(1, nowNanos - sentNanos);
        if (rtt < minRttNanos) minRttNanos = rtt;
        if (bucketStart == Long.MIN_VALUE) bucketStart = nowNanos;
        while (nowNanos - bucketStart >= RATE_BUCKET_NANOS) {
            bucket = (bucket + 1) % RATE_BUCKETS;
            bucketBytes[bucket] = 0;
            bucketStart += RATE_BUCKET_NANOS;
            if (nowNanos - bucketStart > RATE_BUCKETS * RATE_BUCKET_NANOS) bucketStart = nowNanos;   // idle: start afresh
            recomputeRate();
        }
        bucketBytes[bucket] += bytes;
    }

    private void recomputeRate() {
        long max = 0;
        for (int i = 0; i < RATE_BUCKETS; i++) if (i != bucket) max = Math.max(max, bucketBytes[i]);
        maxRate = max * 1e9 / RATE_BUCKET_NANOS;
    }

    /** Chunks to keep in flight now. */
    public synchronized int depth() {
        if (minRttNanos == Long.MAX_VALUE || maxRate == 0) return minDepth;
        double bdp = maxRate * minRttNanos / 1e9;
        long d = (long) Math.ceil(GAIN * bdp / chunkSize);
        return (int) Math.max(minDepth, Math.min(maxDepth, d));
    }

    public synchronized long minRttMicros() {
        return minRttNanos == Long.MAX_VALUE ? -1 : minRttNanos / 1000;
    }

    /** The highest delivery rate measured, bytes per second. */
    public synchronized double maxRate() {
        return maxRate;
    }

    public int maxDepth() {
        return maxDepth;
    }
}
