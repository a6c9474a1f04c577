package io.vmmig.strategy.qemu;

import io.vmmig.qmp.command.QmpResults.MigrationInfo;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets QEMU's memory stream have the link to itself for its last rounds: while memory migrates beside hybrid's
 * background push, it reads {@code query-migrate} ({@link MemoryWatch}, every {@link MemoryWatch#INTERVAL}), and once the rest of the current pass
 * ({@code ram.remaining} at the current {@code ram.mbps}) would end sooner than the push's bytes in flight take to
 * drain at that rate, plus {@link #MARGIN} (QEMU's own socket buffer is not in {@code remaining}: a second covers it
 * at 100 Mbit/s), it holds the push's new sends (at most {@link #MAX_HOLD}; then not
 * again for {@link #COOLDOWN}, for a guest whose memory does not converge). What was not pushed is pulled after
 * the switchover, as hybrid does with any chunk it did not push.
 *
 * <p>Why: at the switchover QEMU's final round (the pages dirtied in the last pass and the device state) crosses
 * after the guest stopped; if the push's data is still queued ahead of it on the link (socket buffers, the
 * bottleneck's queue, a bandwidth-delay product in flight), the final round shares the link with it and the guest
 * stays paused that much longer. Measured before this, at 100 Mbit/s and 200 ms RTT: hybrid's guest pause 629-662
 * ms where QEMU's memory migration alone paused the guest 370-404 ms.
 */
public final class SwitchoverYield implements MemoryWatch.Listener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SwitchoverYield.class);
    public static final Duration MARGIN = Duration.ofSeconds(1);
    public static final Duration MAX_HOLD = Duration.ofSeconds(4);
    public static final Duration COOLDOWN = Duration.ofSeconds(8);

    private final String migrationId;
    private final SourceStrategy.PushYield push;
    private final MigrationTimeline timeline;
    private long nextAllowedNanos = Long.MIN_VALUE;   // MemoryWatch's thread only
    private volatile long heldNanos;

    /** For {@code push}, beside the memory migration that was just started (its readings come from {@link MemoryWatch}). */
    public SwitchoverYield(String migrationId, SourceStrategy.PushYield push, MigrationTimeline timeline) {
        this.migrationId = migrationId;
        this.push = push;
        this.timeline = timeline;
    }

    /**
     * Whether to hold the push now: the current pass's {@code remainingBytes} at {@code memoryBytesPerSecond} end
     * within the time the push's {@code inFlightBytes} need at that rate plus {@link #MARGIN}. False while QEMU has
     * no rate yet (the first interval) or nothing remains.
     */
    public static boolean shouldHold(long remainingBytes, double memoryBytesPerSecond, long inFlightBytes) {
        if (memoryBytesPerSecond <= 0 || remainingBytes <= 0) return false;
        double toEnd = remainingBytes / memoryBytesPerSecond;
        double drain = Math.max(0, inFlightBytes) / memoryBytesPerSecond;
        return toEnd <= drain + MARGIN.toNanos() / 1e9;
    }

    @Override
    public void onActive(MigrationInfo info, long now) {
        if (now < nextAllowedNanos) return;
        double rate = info.ram().mbps() * 1e6 / 8;
        long inFlight = push.inFlightBytes();
        if (!shouldHold(info.ram().remaining(), rate, inFlight)) return;
        push.holdUntil(now + MAX_HOLD.toNanos());
        heldNanos = now;
        nextAllowedNanos = now + MAX_HOLD.toNanos() + COOLDOWN.toNanos();
        timeline.mark(MigrationEvent.PUSH_HELD);
        LOG.info("migration {}: holding the push for memory's last rounds (memory {} KiB to go at {} KiB/s, push {} KiB in flight)",
                migrationId, info.ram().remaining() >> 10, (long) rate >> 10, inFlight >> 10);
    }

    @Override
    public String toString() {
        return "the switchover yield";
    }

    /** Releases any hold (the switchover happened, or the migration ended; after {@link MemoryWatch#close()}). Idempotent. */
    @Override
    public void close() {
        long held = heldNanos;
        heldNanos = 0;   // idempotent: a second close releases and says nothing
        if (held != 0) {
            push.holdUntil(0);
            LOG.info("migration {}: push held {} ms before the switchover", migrationId, (System.nanoTime() - held) / 1_000_000);
        }
    }
}
