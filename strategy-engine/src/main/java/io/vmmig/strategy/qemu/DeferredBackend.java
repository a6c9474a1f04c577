package io.vmmig.strategy.qemu;

import io.vmmig.nbd.backend.BackendCapabilities;
import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.Extent;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A backend that exists before its storage does: the destination agent serves the guest's disk
 * before the destination QEMU (whose loopback export is the local store) is up. Operations wait for
 * {@link #ready}.
 */
public final class DeferredBackend implements BlockBackend {
    private final long size;
    private final CompletableFuture<BlockBackend> target = new CompletableFuture<>();

    public DeferredBackend(long size) {
        this.size = size;
    }

    public void ready(BlockBackend backend) {
        if (backend.size() < size)
            throw new IllegalArgumentException("store of " + backend.size() + " bytes for a disk of " + size);
        target.complete(backend);
    }

    public void fail(Throwable cause) {
        target.completeExceptionally(cause);
    }

    @Override public long size() { return size; }
    @Override public boolean readOnly() { return false; }
    @Override public BackendCapabilities capabilities() { return BackendCapabilities.MINIMAL; }

    @Override public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return target.thenCompose(b -> b.read(offset, dst));
    }
    @Override public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        return target.thenCompose(b -> b.write(offset, src, fua));
    }
    @Override public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fastZero, boolean fua) {
        return target.thenCompose(b -> b.writeZeroes(offset, length, mayTrim, fastZero, fua));
    }
    @Override public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return target.thenCompose(b -> b.trim(offset, length, fua));
    }
    @Override public CompletableFuture<Void> cache(long offset, long length) {
        return target.thenCompose(b -> b.cache(offset, length));
    }
    @Override public CompletableFuture<Void> flush() {
        return target.thenCompose(BlockBackend::flush);
    }
    @Override public CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents) {
        return target.thenCompose(b -> b.blockStatus(offset, length, maxExtents));
    }
    @Override public void close() { }
}
