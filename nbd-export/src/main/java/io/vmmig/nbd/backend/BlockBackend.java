package io.vmmig.nbd.backend;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Storage behind one NBD export, addressed by byte ranges. Every operation returns a future so that a
 * backend may complete it later (e.g. after fetching a missing chunk from the migration source)
 * without holding a thread; a local backend may complete synchronously on the calling thread.
 * Futures fail with {@link BackendException} to choose the NBD error; any other failure maps to EIO.
 * Callers (the server) validate ranges against {@link #size()} and read-only before calling.
 */
public interface BlockBackend extends AutoCloseable {
    /** @return export size in bytes */
    long size();

    /** @return true if writes, zeroing and trimming are refused */
    boolean readOnly();

    BackendCapabilities capabilities();

    /** Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst}, filling it completely. */
    CompletableFuture<Void> read(long offset, ByteBuffer dst);

    /** Writes all of {@code src} at {@code offset}; with {@code fua} the data is durable on completion. */
    CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua);

    /**
     * Makes the range read as zeroes. With {@code mayTrim} the backend may deallocate it (keep it
     * sparse); without, the range must stay allocated. With {@code fastZero} the backend must fail
     * quickly with ENOTSUP, changing nothing, unless it can zero faster than writing.
     */
    CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fastZero, boolean fua);

    /** Hints that the range is no longer needed; may deallocate it. Contents are undefined afterwards. */
    CompletableFuture<Void> trim(long offset, long length, boolean fua);

    /** Makes every completed write durable. */
    CompletableFuture<Void> flush();

    /**
     * base:allocation extents describing consecutive bytes from {@code offset}; at least one extent,
     * at most {@code maxExtents}, never past {@link #size()}, and covering at most {@code length}
     * bytes unless the last extent is cheaply known to be longer (callers clip).
     */
    CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents);

    /** Hints that the range will be read soon. */
    default CompletableFuture<Void> cache(long offset, long length) {
        return CompletableFuture.completedFuture(null);
    }

    @Override
    void close() throws java.io.IOException;
}
