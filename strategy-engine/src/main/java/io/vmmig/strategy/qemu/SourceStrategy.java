package io.vmmig.strategy.qemu;

import java.util.concurrent.CompletableFuture;

/**
 * The source agent's part of moving one disk with some {@link io.vmmig.strategy.Strategy}. The
 * {@link SourceMigration} driver calls it around QEMU's memory migration.
 */
public interface SourceStrategy extends AutoCloseable {

    /** Sets up everything on the source QEMU and starts moving data (if the strategy does before cutover). */
    void start() throws Exception;

    /**
     * Completes when memory migration may start: at once for most strategies; pre-copy waits until
     * its rounds converged or hit the iteration limit; mirror waits for its job to be READY.
     */
    CompletableFuture<Void> readyForMemory();

    /** Runs while the source guest is paused before switchover. Throwing makes the driver cancel the migration. */
    void atPause() throws Exception;

    /**
     * Runs once the paused source was told to continue ({@code migrate-continue}) after {@link #atPause}:
     * storage work that must follow the hand-over but need not hold the guest (removing the final
     * epoch's export and bitmap). Best effort: it must not throw.
     */
    default void afterPause() {
    }

    /** Completes when the destination holds the whole disk and needs nothing more from the source. */
    CompletableFuture<Void> finished();

    /** Cancels before cutover: the guest keeps running at the source, every trace of vmmig removed. */
    void cancel(String reason);

    /** Removes everything vmmig added to the source QEMU. Idempotent. */
    void release();

    /** Figures so far. */
    SourceReport report();

    /**
     * The push's rate limit and the bytes it put on the wire, for a {@link LinkGovernor} that keeps push and
     * memory inside one budget; null when the strategy pushes nothing itself (mirror: QEMU's job moves the disk).
     */
    default PushLink pushLink() {
        return null;
    }

    /**
     * The background push as {@link SwitchoverYield} sees it: its bytes in flight and a hold on new sends; null when
     * the strategy has no push to hold (mirror, post-copy) or holding it would only lengthen the pause (pre-copy,
     * whose final round is sent while paused).
     */
    default PushYield pushYield() {
        return null;
    }

    /** What {@link #pushYield} gives: bytes pushed and not yet acknowledged, and holding new pushes until a nanoTime. */
    interface PushYield {
        long inFlightBytes();

        void holdUntil(long nanoTime);
    }

    /** @param wireBytes the push's bytes on the wire so far (compressed sizes, frame payloads) */
    record PushLink(io.vmmig.strategy.source.PushBandwidth bucket, java.util.function.LongSupplier wireBytes) {
    }

    @Override
    default void close() {
        release();
    }
}
