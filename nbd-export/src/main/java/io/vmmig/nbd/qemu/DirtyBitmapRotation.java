package io.vmmig.nbd.qemu;

import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.client.NbdClientOptions;
import io.vmmig.nbd.protocol.NbdException;
import io.vmmig.nbd.protocol.NbdReplyType;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.BlockDirtyBitmapAdd;
import io.vmmig.qmp.command.QmpCommands.BlockDirtyBitmapRemove;
import io.vmmig.qmp.command.QmpCommands.Transaction;
import io.vmmig.qmp.command.QmpCommands.TransactionAction;
import java.time.Duration;
import java.util.List;

/**
 * Per-epoch dirty extents of a running guest's disk from QEMU dirty bitmaps, the sequence recorded in
 * shared/notes/qemu-7.2-hybrid-recipe.md: one bitmap records each epoch; {@link #rotate} starts the
 * next bitmap and freezes the current one in a single {@code transaction}, exports the frozen bitmap
 * read-only in an export of its own, reads {@code qemu:dirty-bitmap:NAME} with NBD BLOCK_STATUS,
 * then deletes the export (waiting for BLOCK_EXPORT_DELETED) and removes the bitmap. No write is
 * lost between epochs: the transaction is atomic with respect to guest I/O.
 */
public final class DirtyBitmapRotation implements AutoCloseable {
    private final QemuNbdServer server;
    private final QmpClient qmp;
    private final String node;
    private final String prefix;
    private final long granularity;
    private final Duration timeout;
    private int epoch;
    private boolean closed;

    /**
     * Starts recording the first epoch on {@code node} (a format node, e.g. the qcow2 of the disk).
     *
     * @param prefix      unique per migration; bitmaps are PREFIX-eN, exports PREFIX-epN
     * @param granularity bitmap granularity in bytes (power of two, 512..2^31); the chunk size or a divisor
     */
    public DirtyBitmapRotation(QemuNbdServer server, String node, String prefix, long granularity, Duration timeout) {
        this.server = server;
        this.qmp = server.qmp();
        this.node = node;
        this.prefix = prefix;
        this.granularity = granularity;
        this.timeout = timeout;
        qmp.call(new BlockDirtyBitmapAdd(node, bitmap(0), granularity, false, null));
    }

    /** Name of the bitmap recording the current epoch. */
    public synchronized String currentBitmap() {
        return bitmap(epoch);
    }

    public synchronized int epoch() {
        return epoch;
    }

    /**
     * Ends the current epoch and returns the byte ranges written during it (at bitmap granularity);
     * the next epoch is recording from the same instant.
     */
    public List<ByteRange> rotate() throws NbdException {
        try (FrozenEpoch e = rotateAndHold()) {
            return e.ranges();
        }
    }

    /**
     * Like {@link #rotate}, but the ended epoch's export and bitmap stay until the answer is closed: the
     * ranges are known after one transaction, one export and one scan, and the removal (a
     * {@code block-export-del} that waits for {@code BLOCK_EXPORT_DELETED}, a {@code block-dirty-bitmap-remove})
     * can wait, e.g. until a paused guest runs again.
     */
    public synchronized FrozenEpoch rotateAndHold() throws NbdException {
        if (closed) throw new IllegalStateException("rotation closed");
        String frozen = bitmap(epoch);
        String next = bitmap(epoch + 1);
        qmp.call(new Transaction(List.of(
                TransactionAction.bitmapAdd(new BlockDirtyBitmapAdd(node, next, granularity, false, null)),
                TransactionAction.bitmapDisable(node, frozen))));
        epoch++;
        FrozenEpoch held = new FrozenEpoch(frozen);
        try {
            held.export = server.exportBitmap(prefix + "-ep" + (epoch - 1), node, frozen);
            String context = NbdReplyType.META_DIRTY_BITMAP_PREFIX + frozen;
            try (NbdClient client = NbdClient.connect(server.socket(),
                    NbdClientOptions.of(held.export.name()).withMetaContexts(context).withRequestTimeout(timeout))) {
                // qemu:dirty-bitmap flag 1 = dirty
                held.ranges = ExtentScan.ranges(client, context, flags -> (flags & 1) != 0);
            }
            return held;
        } catch (RuntimeException | Error e) {
            held.close();
            throw e;
        }
    }

    /** An ended epoch, its dirty ranges read; closing removes its export and bitmap from QEMU. Idempotent. */
    public final class FrozenEpoch implements AutoCloseable {
        private final String bitmap;
        private QemuNbdServer.Export export;
        private List<ByteRange> ranges;
        private boolean removed;

        private FrozenEpoch(String bitmap) {
            this.bitmap = bitmap;
        }

        /** The byte ranges written during the epoch (at bitmap granularity). */
        public List<ByteRange> ranges() {
            return ranges;
        }

        @Override
        public void close() {
            synchronized (DirtyBitmapRotation.this) {
                if (removed) return;
                removed = true;
                try {
                    if (export != null) export.close();
                } finally {
                    qmp.call(new BlockDirtyBitmapRemove(node, bitmap));
                }
            }
        }
    }

    /** Removes the bitmap of the current epoch. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        qmp.call(new BlockDirtyBitmapRemove(node, bitmap(epoch)));
    }

    private String bitmap(int n) {
        return prefix + "-e" + n;
    }
}
