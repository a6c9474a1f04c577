package io.vmmig.strategy.source;

/**
 * Decides, window by window, whether the source's chunk data goes through zstd: on while the link
 * is the bottleneck, off while the CPU is. The rule (documented in agent/README-peer.md):
 *
 * <ul>
 *   <li>Every chunk sent reports its raw bytes, the nanoseconds spent compressing it (0 when off) and
 *       the nanoseconds its {@code send} blocked (the channel's back-pressure: the link, or the peer,
 *       could not take more). A <em>window</em> closes after {@link #WINDOW_CHUNKS} chunks and at
 *       least {@link #WINDOW_NANOS} of those costs.</li>
 *   <li>A window's <em>rate</em> is raw bytes / (compress + send nanoseconds): the disk bytes one
 *       sending thread moves per second of its own work in that mode. When the link is the bottleneck,
 *       send time follows the wire bytes and compression wins by its ratio; when the CPU is, send
 *       time is small and compression's own time makes it lose.</li>
 *   <li>The next window uses the mode whose last window had the higher rate; every
 *       {@link #PROBE_EVERY}th window tries the other mode once, so a change of link, load or data is
 *       noticed. The first two windows measure both modes (on first).</li>
 *   <li>A window with compression on that saved less than {@link #MIN_SAVING} of its bytes loses whatever
 *       its rate (random or already compressed data: the CPU was spent for nothing, and timing noise on a
 *       loaded host must not keep it on).</li>
 * </ul>
 *
 * Thread-safe: the push thread and the pull responder's workers share one instance.
 */
public final class AdaptiveCompression {
    public static final int WINDOW_CHUNKS = 32;
    public static final long WINDOW_NANOS = 50_000_000L;
    public static final int PROBE_EVERY = 8;
    /** Least fraction of the raw bytes a window with compression on must save to count as a win. */
    public static final double MIN_SAVING = 0.03;

    private boolean on = true;
    private double rateOn = Double.NaN;
    private double rateOff = Double.NaN;
    private int windows;
    private int switches;
    private long windowRaw;
    private long windowWire;
    private long windowCost;
    private int windowChunks;
    private long windowsOn;

    /** Whether the chunk about to be sent should be compressed. */
    public synchronized boolean compressNext() {
        return on;
    }

    /**
     * One chunk of {@code rawBytes} went out as {@code wireBytes} of payload in the mode {@code compressed}
     * says (the mode at the time it was encoded; a chunk of the other mode, sent across a switch, is not counted).
     */
    public synchronized void sent(boolean compressed, long rawBytes, long wireBytes, long compressNanos, long sendNanos) {
        if (compressed != on) return;
        windowRaw += rawBytes;
        windowWire += wireBytes;
        windowCost += Math.max(0, compressNanos) + Math.max(0, sendNanos);
        if (++windowChunks < WINDOW_CHUNKS || windowCost < WINDOW_NANOS) return;
        double rate = windowRaw * 1e9 / Math.max(1, windowCost);
        if (on) {
            rateOn = windowWire > windowRaw * (1 - MIN_SAVING) ? 0 : rate;
            windowsOn++;
        } else {
            rateOff = rate;
        }
        windows++;
        windowRaw = 0;
        windowWire = 0;
        windowCost = 0;
        windowChunks = 0;
        boolean next;
        if (Double.isNaN(rateOff)) next = false;          // measure "off" once
        else if (Double.isNaN(rateOn)) next = true;
        else if (windows % PROBE_EVERY == 0) next = !(rateOn >= rateOff);   // probe the losing mode
        else next = rateOn >= rateOff;
        if (next != on) switches++;
        on = next;
    }

    public synchronized boolean on() {
        return on;
    }

    /** Closed windows so far, and how many of them had compression on. */
    public synchronized int windows() {
        return windows;
    }

    public synchronized long windowsOn() {
        return windowsOn;
    }

    public synchronized int switches() {
        return switches;
    }

    /** The last closed window's rate with compression on and off, bytes/s of sending work (NaN: not measured yet). */
    public synchronized double rateOn() {
        return rateOn;
    }

    public synchronized double rateOff() {
        return rateOff;
    }
}
