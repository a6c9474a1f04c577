package io.vmmig.strategy;

import java.util.Arrays;

/**
 * Latency of on-demand pulls, from the first guest demand of a chunk to its bytes being installed
 * in the local store.
 *
 * @param count        on-demand pulls installed
 * @param medianMicros median latency in microseconds (0 when none)
 * @param maxMicros    largest latency in microseconds (0 when none)
 */
public record OnDemandLatency(long count, long medianMicros, long maxMicros) {
    public static final OnDemandLatency NONE = new OnDemandLatency(0, 0, 0);

    /** From the first {@code n} samples, in nanoseconds. */
    static OnDemandLatency ofNanos(long[] samples, int n) {
        if (n == 0) return NONE;
        long[] s = Arrays.copyOf(samples, n);
        Arrays.sort(s);
        long median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        return new OnDemandLatency(n, median / 1000, s[n - 1] / 1000);
    }
}
