package io.vmmig.testkit.net;

import java.time.Duration;

/**
 * How a {@link NetworkLab}'s two namespaces are joined.
 * <ul>
 *   <li>{@link #veth()}: a veth pair ({@code veth-a}/{@code veth-b}); no added delay; GSO, so fast.</li>
 *   <li>{@link #delayLine(Duration)}: a TUN device in each namespace ({@code tun-a}/{@code tun-b},
 *       point-to-point, same addresses) joined by {@link PacketDelayLine}, which holds every IP packet for
 *       RTT/2 in each direction. The TCP stacks inside the namespaces see the real round trip (slow start,
 *       cwnd growth, ACK clocking), unlike the {@link DelayProxy} above TCP. Packets are MTU-sized (no
 *       offloads), so it costs a context switch or two per packet: fine at 100 Mbit/s, not a 10 Gbit/s
 *       link.</li>
 * </ul>
 * {@code tbf} ({@link NetworkLab#shape}) goes on the egress of whichever devices join the namespaces.
 */
public record LabLink(Medium medium, Duration rtt) {
    public enum Medium { VETH, DELAY_LINE }

    public LabLink {
        if (rtt.isNegative()) {
            throw new IllegalArgumentException("negative RTT " + rtt);
        }
        if (medium == Medium.VETH && !rtt.isZero()) {
            throw new IllegalArgumentException("a veth pair adds no delay; use LabLink.delayLine(" + rtt + ")");
        }
    }

    public static LabLink veth() {
        return new LabLink(Medium.VETH, Duration.ZERO);
    }

    /** A TUN pair whose packets wait {@code rtt}/2 in each direction ({@code rtt} may be zero). */
    public static LabLink delayLine(Duration rtt) {
        return new LabLink(Medium.DELAY_LINE, rtt);
    }

    public Duration oneWayDelay() {
        return rtt.dividedBy(2);
    }

    /** The device of {@code host} inside its namespace. */
    public String interfaceName(LabHost host) {
        return medium == Medium.VETH ? host.interfaceName() : "tun-" + host.suffix();
    }

    @Override
    public String toString() {
        return medium == Medium.VETH ? "veth pair" : "TUN pair + packet delay line, RTT " + rtt.toMillis() + " ms";
    }
}
