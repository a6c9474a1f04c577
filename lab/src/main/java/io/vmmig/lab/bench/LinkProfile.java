package io.vmmig.lab.bench;

import io.vmmig.testkit.net.LabLink;
import io.vmmig.testkit.net.NetworkLab;
import java.time.Duration;

/**
 * A link between the two lab hosts: a tbf rate (0 = unshaped) and a round-trip time. Without RTT the
 * namespaces are joined by a veth pair; with one, by a TUN pair and the packet delay line
 * ({@link LabLink#delayLine}), which holds every packet between the hosts RTT/2 in each direction, so every
 * TCP stream between them (QEMU's memory stream, the peer channel, NBD) sees the round trip in its own
 * congestion control and windows, as on a WAN. {@link #openLab()} builds the lab for a profile.
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

    /** How the lab's namespaces are joined for this profile: veth without RTT, else the packet delay line. */
    public LabLink labLink() {
        return rtt.isZero() ? LabLink.veth() : LabLink.delayLine(rtt);
    }

    /**
     * A new lab joined by {@link #labLink()}, shaped with tbf at the rate (both directions) when the profile
     * has one; the caller closes it. Fails leaving nothing behind.
     */
    public NetworkLab openLab() {
        NetworkLab lab = NetworkLab.create(labLink());
        try {
            if (shaped()) lab.shape(rateBitsPerSecond);
            return lab;
        } catch (RuntimeException e) {
            try {
                lab.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** The bytes in flight that fill this link: rate x RTT (0 if unshaped or without RTT). */
    public long bandwidthDelayProductBytes() {
        return shaped() ? rateBitsPerSecond / 8 * rtt.toMillis() / 1000 : 0;
    }

    /** Seconds that {@code bytes} need on this link plus two round trips; NaN if the link is unshaped. */
    public double physicalLimitSeconds(long bytes) {
        if (!shaped()) return Double.NaN;
        return bytes * 8.0 / rateBitsPerSecond + 2 * rtt.toMillis() / 1000.0;
    }

    public String describe() {
        if (!shaped()) return label + ": veth, no tbf, no added delay";
        if (rtt.isZero()) return String.format("%s: veth, tbf %d Mbit/s on both ends, no added delay", label,
                rateBitsPerSecond / 1_000_000);
        return String.format("%s: TUN pair + packet delay line (every packet %d ms each way), tbf %d Mbit/s on both "
                + "TUN egresses; BDP %.2f MiB", label, rtt.toMillis() / 2, rateBitsPerSecond / 1_000_000,
                bandwidthDelayProductBytes() / 1048576.0);
    }
}
