package io.vmmig.strategy;

import io.vmmig.nbd.backend.BackendCapabilities;
import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.Extent;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One disk of a {@link DiskLayout} seen alone in a backend over the whole address space: what the
 * destination agent's NBD server serves as that disk's export to the guest's device. Offsets are the
 * disk's own; the server checks ranges against {@link #size()}, so nothing reaches another disk.
 */
public final class DiskWindow implements BlockBackend {
    private final BlockBackend whole;
    private final DiskLayout.Disk disk;

    public DiskWindow(BlockBackend whole, DiskLayout.Disk disk) {
        if (disk.end() > whole.size())
            throw new IllegalArgumentException("disk " + disk.name() + " ends at " + disk.end() + ", past " + whole.size());
        this.whole = whole;
        this.disk = disk;
    }

    /** The whole address space when there is one disk (nothing to translate), else a window on it. */
    public static BlockBackend of(BlockBackend whole, DiskLayout layout, int index) {
        DiskLayout.Disk d = layout.disk(index);
        return layout.count() == 1 && d.size() == whole.size() ? whole : new DiskWindow(whole, d);
    }

    @Override public long size() { return disk.size(); }
    @Override public boolean readOnly() { return whole.readOnly(); }
    @Override public BackendCapabilities capabilities() { return whole.capabilities(); }
    @Override public CompletableFuture<Void> read(long offset, ByteBuffer dst) { return whole.read(disk.base() + offset, dst); }
    @Override public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        return whole.write(disk.base() + offset, src, fua);
    }
    @Override public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fastZero, boolean fua) {
        return whole.writeZeroes(disk.base() + offset, length, mayTrim, fastZero, fua);
    }
    @Override public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return whole.trim(disk.base() + offset, length, fua);
    }
    @Override public CompletableFuture<Void> flush() { return whole.flush(); }
    @Override public CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents) {
        return CompletableFuture.completedFuture(List.of(new Extent(Math.min(length, size() - offset), 0)));
    }
    /** The window does not own the address space: closing it closes nothing. */
    @Override public void close() { }
}
