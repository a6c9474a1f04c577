package io.vmmig.nbd.server;

import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.Extent;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A metadata context an export offers for NBD_CMD_BLOCK_STATUS (e.g. {@code base:allocation}).
 * Add new contexts by implementing this and listing them in the {@link NbdExport}.
 */
public interface MetaContext {
    /** Full name, {@code namespace:leaf}. */
    String name();

    /** Extents from {@code offset}; at least one, at most {@code maxExtents}; the server clips them to the request. */
    CompletableFuture<List<Extent>> extents(BlockBackend backend, long offset, long length, int maxExtents);

    /** @return the namespace part of {@link #name()}, including the colon */
    default String namespace() {
        String n = name();
        return n.substring(0, n.indexOf(':') + 1);
    }
}
