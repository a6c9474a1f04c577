package io.vmmig.nbd.server;

import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.Extent;
import io.vmmig.nbd.protocol.NbdReplyType;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/** {@code base:allocation}: holes and zero ranges as the backend reports them (all data if it can't tell). */
public final class BaseAllocationContext implements MetaContext {
    public static final BaseAllocationContext INSTANCE = new BaseAllocationContext();

    private BaseAllocationContext() {}

    @Override
    public String name() {
        return NbdReplyType.META_BASE_ALLOCATION;
    }

    @Override
    public CompletableFuture<List<Extent>> extents(BlockBackend backend, long offset, long length, int maxExtents) {
        if (!backend.capabilities().blockStatus()) {
            return CompletableFuture.completedFuture(List.of(new Extent(length, 0)));
        }
        return backend.blockStatus(offset, length, maxExtents);
    }
}
