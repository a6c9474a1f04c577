package io.vmmig.nbd.server;

import io.vmmig.nbd.backend.BackendCapabilities;
import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.Extent;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A read-only backend whose reads stay pending until the test opens the gate, like a chunk that has
 * not arrived yet. Byte at offset x reads as (x * 31 + 7) & 0xff.
 */
final class GatedBackend implements BlockBackend {
    private record Pending(long offset, ByteBuffer dst, CompletableFuture<Void> future) {}

    private final long size;
    private final ConcurrentLinkedQueue<Pending> pending = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pendingCount = new AtomicInteger();
    private final AtomicInteger maxPending = new AtomicInteger();
    private volatile boolean open;

    GatedBackend(long size) {
        this.size = size;
    }

    static byte byteAt(long offset) {
        return (byte) (offset * 31 + 7);
    }

    int pendingCount() {
        return pendingCount.get();
    }

    /** Waits until at least {@code n} reads are pending. @return false on timeout */
    synchronized boolean awaitPending(int n, java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (pendingCount.get() < n) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return false;
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    int maxPending() {
        return maxPending.get();
    }

    /** Completes every pending read (on the calling thread) and lets later reads complete at once. */
    void open() {
        open = true;
        Pending p;
        while ((p = pending.poll()) != null) complete(p);
    }

    private void complete(Pending p) {
        pendingCount.decrementAndGet();
        for (int i = 0; p.dst().hasRemaining(); i++) p.dst().put(byteAt(p.offset() + i));
        p.future().complete(null);
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean readOnly() {
        return true;
    }

    @Override
    public BackendCapabilities capabilities() {
        return BackendCapabilities.MINIMAL;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        Pending p = new Pending(offset, dst, new CompletableFuture<>());
        maxPending.accumulateAndGet(pendingCount.incrementAndGet(), Math::max);
        if (open) complete(p);
        else {
            pending.add(p);
            if (open) open(); // raced with open(): drain
        }
        synchronized (this) {
            notifyAll();
        }
        return p.future();
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        throw new UnsupportedOperationException("read-only");
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fastZero, boolean fua) {
        throw new UnsupportedOperationException("read-only");
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        throw new UnsupportedOperationException("read-only");
    }

    @Override
    public CompletableFuture<Void> flush() {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents) {
        return CompletableFuture.completedFuture(List.of(new Extent(length, 0)));
    }

    @Override
    public void close() {}
}
