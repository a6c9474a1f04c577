package io.vmmig.strategy.qemu;

import io.vmmig.qmp.QmpClient;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The destination agent's part of moving one disk with some {@link io.vmmig.strategy.Strategy}. */
public interface DestinationStrategy extends AutoCloseable {

    /**
     * The {@code -blockdev} arguments the destination QEMU needs for the disk; the guest device uses
     * the configured disk node with {@code share-rw=on}; QEMU starts with {@code -incoming defer}.
     */
    List<String> qemuBlockdevArgs();

    /** The destination QEMU is up in {@code -incoming defer}. */
    void attach(QmpClient qmp) throws Exception;

    /**
     * The destination QEMU's incoming migration completed: the guest runs here. Work that would only slow
     * the switchover (the background pull, on the link QEMU's last pages cross) may begin now.
     */
    default void guestRunsHere() { }

    /**
     * QEMU's incoming migration completed; a strategy that started QEMU with {@code -S} (its disk must be made
     * ready first) lets the guest run here. Returns once it runs; nothing to do by default.
     */
    default void startGuest() throws Exception { }

    /** Completes when the local image holds the whole disk. */
    CompletableFuture<Void> complete();

    /** After {@link #complete()} and the memory migration: leave the guest's I/O path, release what was added. */
    void finish() throws Exception;

    DestinationReport report();

    @Override
    void close();
}
