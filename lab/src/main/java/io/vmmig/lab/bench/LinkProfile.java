package io.vmmig.lab.bench;

import java.time.Duration;

/**
 * A link between the two lab hosts: a tbf rate (0 = unshaped) and an added round-trip time
 * (half of it on each direction, done by the source-side forwarders).
 */
public record LinkProfile(String label, long rateBitsPerSecond, Duration rtt) {
    public static final LinkProfile UNSHAPED = new LinkProfile("unshaped", 0, Duration.ZERO);
    public static final LinkProfile GBIT_1 = new LinkProfile("1gbit", 1_000_000_000L, Duration.ZERO);
    public static final LinkProfile MBIT_100 = new LinkProfile("100mbit", 100_000_000L, Duration.ZERO);
    public static final LinkProfile MBIT_100_RTT_50 = new LinkProfile("100mbit-50ms", 100_000_000L, Duration.ofMillis(50));
    public static final LinkProfile MBIT_100_RTT_200 = new LinkProfile("100mbit-200ms", 100_000_000L, Duration.ofMillis(200));

    public boolean shaped() {
        return rateBitsPerSecond > 0;
    }

    public Duration oneWayDelay() {
        return rtt.dividedBy(2);
    }

    /** Seconds that {@code bytes} need on this link plus two round trips; NaN if the link is unshaped. */
    public double physicalLimitSeconds(long bytes) {
        if (!shaped()) return Double.NaN;
        return bytes * 8.0 / rateBitsPerSecond + 2 * rtt.toMillis() / 1000.0;
    }

    public String describe() {
        if (!shaped()) return label + ": veth, no tbf, no added delay";
        return String.format("%s: tbf %d Mbit/s on both veth ends, RTT +%d ms (forwarder delay)", label,
                rateBitsPerSecond / 1_000_000, rtt.toMillis());
    }
}
