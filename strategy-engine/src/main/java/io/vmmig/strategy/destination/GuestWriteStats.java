package io.vmmig.strategy.destination;

import java.util.concurrent.atomic.AtomicLong;

/** Counters of the destination guest's writes while the disk is incomplete. Thread-safe. */
public final class GuestWriteStats {
    private final AtomicLong takenAtOnce = new AtomicLong();
    private final AtomicLong waited = new AtomicLong();
    private final AtomicLong waitNanos = new AtomicLong();

    /** A write into at least one missing chunk went to the store without waiting for a pull. */
    void takenAtOnce() {
        takenAtOnce.incrementAndGet();
    }

    /** A write had to wait (for the hand-over, a pull, an install or a push) this long. */
    void waited(long nanos) {
        waited.incrementAndGet();
        waitNanos.addAndGet(nanos);
    }

    public Snapshot snapshot() {
        return new Snapshot(takenAtOnce.get(), waited.get(), waitNanos.get() / 1000);
    }

    /**
     * @param takenAtOnce     guest writes into missing chunks issued at once (no pull awaited)
     * @param waited          guest writes that had to wait
     * @param totalWaitMicros their total wait, in microseconds
     */
    public record Snapshot(long takenAtOnce, long waited, long totalWaitMicros) {}
}
