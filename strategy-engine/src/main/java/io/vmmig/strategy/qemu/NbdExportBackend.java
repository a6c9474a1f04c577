package io.vmmig.strategy.qemu;

import io.vmmig.nbd.backend.BackendCapabilities;
import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.Extent;
import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.protocol.NbdCommand;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * An NBD export seen as a {@link BlockBackend}: the source's running disk (QEMU's read-only export)
 * or the destination's local image (QEMU's writable loopback export). Reads and writes larger than
 * the export's maximum block size are split.
 */
public final class NbdExportBackend implements BlockBackend {
    private final NbdClient client;
    private final int maxRequest;

    public NbdExportBackend(NbdClient client) {
        this.client = client;
        this.maxRequest = Math.min(client.export().effectiveMaximumBlockSize(), 8 << 20);
    }

    public NbdClient client() {
        return client;
    }

    @Override
    public long size() {
        return client.export().size();
    }

    @Override
    public boolean readOnly() {
        return client.export().readOnly();
    }

    @Override
    public BackendCapabilities capabilities() {
        var e = client.export();
        return new BackendCapabilities(e.has(NbdCommand.TX_SEND_FLUSH), e.has(NbdCommand.TX_SEND_FUA),
                e.has(NbdCommand.TX_SEND_TRIM), e.has(NbdCommand.TX_SEND_WRITE_ZEROES),
                e.has(NbdCommand.TX_SEND_FAST_ZERO), false, e.has(NbdCommand.TX_CAN_MULTI_CONN));
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        int length = dst.remaining();
        if (length <= maxRequest) {
            return client.read(offset, dst).thenRun(() -> dst.position(dst.limit()));
        }
        CompletableFuture<?>[] parts = new CompletableFuture<?>[(length + maxRequest - 1) / maxRequest];
        for (int i = 0; i < parts.length; i++) {
            int start = i * maxRequest;
            int n = Math.min(maxRequest, length - start);
            parts[i] = client.read(offset + start, dst.slice(dst.position() + start, n));
        }
        return CompletableFuture.allOf(parts).thenRun(() -> dst.position(dst.limit()));
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        int length = src.remaining();
        if (length <= maxRequest) return client.write(offset, src, fua);
        CompletableFuture<?>[] parts = new CompletableFuture<?>[(length + maxRequest - 1) / maxRequest];
        for (int i = 0; i < parts.length; i++) {
            int start = i * maxRequest;
            int n = Math.min(maxRequest, length - start);
            parts[i] = client.write(offset + start, src.slice(src.position() + start, n), fua);
        }
        return CompletableFuture.allOf(parts);
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fastZero, boolean fua) {
        int flags = (mayTrim ? 0 : NbdCommand.FLAG_NO_HOLE) | (fua ? NbdCommand.FLAG_FUA : 0)
                | (fastZero ? NbdCommand.FLAG_FAST_ZERO : 0);
        return client.writeZeroes(offset, length, flags);
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return client.trim(offset, length, fua);
    }

    /** NBD CACHE: on a QEMU export of a node with a backing node, QEMU copies the range's unallocated clusters in (copy-on-read). */
    @Override
    public CompletableFuture<Void> cache(long offset, long length) {
        return client.cache(offset, length);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return client.flush();
    }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents) {
        return CompletableFuture.completedFuture(List.of(new Extent(Math.min(length, size() - offset), 0)));
    }

    @Override
    public void close() {
        client.close();
    }
}
