package io.vmmig.strategy.source;

/**
 * The push's bandwidth limit (and the destination's background pull limit), a token bucket: tokens (bytes) refill at {@code bytesPerSecond} up to
 * one second's worth; a send may take more than is there and leaves the bucket in debt, which the
 * next send waits out. So any chunk size works with any rate, and the long-run rate is the limit.
 * Time is passed in (nanoseconds, {@link System#nanoTime} in production) so tests need no clock.
 */
public final class PushBandwidth {
    private long bytesPerSecond;
    private double capacity;
    private double tokens;
    private long lastNanos;
    private boolean started;

    /** @param bytesPerSecond the limit; 0 means unlimited */
    public PushBandwidth(long bytesPerSecond) {
        if (bytesPerSecond < 0) throw new IllegalArgumentException("bytesPerSecond must be >= 0, got " + bytesPerSecond);
        this.bytesPerSecond = bytesPerSecond;
        this.capacity = bytesPerSecond;
    }

    public synchronized boolean unlimited() {
        return bytesPerSecond == 0;
    }

    /** The limit now, bytes/s (0: unlimited). */
    public synchronized long bytesPerSecond() {
        return bytesPerSecond;
    }

    /**
     * Changes the limit from now on ({@link io.vmmig.strategy.qemu.LinkGovernor} as the link's share moves);
     * tokens above the new second's worth are dropped, a debt stays to be waited out.
     */
    public synchronized void setRate(long bytesPerSecond) {
        if (bytesPerSecond < 0) throw new IllegalArgumentException("bytesPerSecond must be >= 0, got " + bytesPerSecond);
        this.bytesPerSecond = bytesPerSecond;
        this.capacity = bytesPerSecond;
        if (bytesPerSecond == 0) {
            tokens = 0;
            started = false;
        } else {
            tokens = Math.min(tokens, capacity);
        }
    }

    /**
     * Takes {@code bytes} if the bucket is not in debt at {@code nowNanos} and returns 0; otherwise
     * takes nothing and returns how many nanoseconds to wait before asking again.
     */
    public synchronized long tryTake(long bytes, long nowNanos) {
        if (unlimited()) return 0;
        if (!started) {
            started = true;
            lastNanos = nowNanos;
        }
        long elapsed = Math.max(0, nowNanos - lastNanos);
        lastNanos = Math.max(lastNanos, nowNanos);
        tokens = Math.min(capacity, tokens + elapsed * (bytesPerSecond / 1e9));
        if (tokens >= 0) {
            tokens -= bytes;
            return 0;
        }
        return Math.max(1, (long) Math.ceil(-tokens * 1e9 / bytesPerSecond));
    }
}
