package io.vmmig.libvirt;

import io.vmmig.nbd.backend.BackendCapabilities;
import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.Extent;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The source disk a libvirt migration reads: the frozen image while the guest runs at the source (the push),
 * then, once libvirt stopped the source QEMU, the image as the guest left it (overlay over the frozen image:
 * the pull). Read-only.
 */
public final class HandOverBackend implements BlockBackend {
    private volatile BlockBackend current;

    public HandOverBackend(BlockBackend frozen) {
        this.current = frozen;
    }

    /** From now on reads see {@code last}. */
    public void handOver(BlockBackend last) {
        if (last.size() != current.size())
            throw new IllegalArgumentException("the final view has " + last.size() + " bytes, the frozen image " + current.size());
        current = last;
    }

    @Override public long size() { return current.size(); }
    @Override public boolean readOnly() { return true; }
    @Override public BackendCapabilities capabilities() { return current.capabilities(); }
    @Override public CompletableFuture<Void> read(long offset, ByteBuffer dst) { return current.read(offset, dst); }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("read-only"));
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fastZero, boolean fua) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("read-only"));
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("read-only"));
    }

    @Override public CompletableFuture<Void> flush() { return CompletableFuture.completedFuture(null); }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents) {
        return current.blockStatus(offset, length, maxExtents);
    }

    @Override public void close() { }
}
