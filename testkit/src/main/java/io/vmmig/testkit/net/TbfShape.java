package io.vmmig.testkit.net;

import java.time.Duration;
import java.util.List;

/**
 * The {@code tbf} parameters {@link NetworkLab#shape(long)} puts on each veth end (egress, so each direction
 * is shaped once): {@code rate} in bits/s, {@code burst} (bucket size) in bytes and {@code latency} (how long
 * a packet may wait in the queue; the kernel turns it into the queue limit rate*latency+burst).
 *
 * <p>Defaults from {@link #forRate(long)}: burst = max(64 KiB, 4 ms of rate): veth hands tbf GSO packets of up
 * to 64 KiB, and a bucket smaller than a packet makes tbf segment it (slower, burstier); 4 ms keeps the
 * kernel timer granularity from capping high rates. Latency 50 ms: deep enough that a single TCP flow is
 * not starved by drops, shallow enough not to add much queueing delay beyond that.
 */
public record TbfShape(long rateBitsPerSecond, long burstBytes, Duration latency) {
    static final long MIN_BURST = 64 * 1024;

    public TbfShape {
        if (rateBitsPerSecond < 8_000) {
            throw new IllegalArgumentException("tbf rate must be at least 8000 bit/s, got " + rateBitsPerSecond);
        }
        if (burstBytes < 1600) {
            throw new IllegalArgumentException("tbf burst must hold at least one full frame (1600 bytes), got "
                    + burstBytes);
        }
        if (latency.isNegative() || latency.isZero()) {
            throw new IllegalArgumentException("tbf latency must be positive, got " + latency);
        }
    }

    /** The default shape for a rate: burst max(64 KiB, 4 ms of rate), latency 50 ms. */
    public static TbfShape forRate(long rateBitsPerSecond) {
        long fourMs = rateBitsPerSecond / 8 / 250;
        return new TbfShape(rateBitsPerSecond, Math.max(MIN_BURST, fourMs), Duration.ofMillis(50));
    }

    /** The rate in bytes per second. */
    public double rateBytesPerSecond() {
        return rateBitsPerSecond / 8.0;
    }

    /** The arguments after {@code tc qdisc replace dev IF root}. */
    public List<String> tcArguments() {
        return List.of("tbf", "rate", rateBitsPerSecond + "bit", "burst", Long.toString(burstBytes),
                "latency", latency.toMillis() + "ms");
    }
}
