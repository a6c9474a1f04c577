package io.vmmig.strategy.destination;

import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.strategy.peer.Frame.Priority;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/** Where the destination gets bytes it does not have: the source, over the peer link or locally. */
@FunctionalInterface
public interface ChunkSource {
    /** Fills {@code dst} with the source's bytes at {@code offset}; on-demand reads go first at the source. */
    CompletableFuture<Void> read(long offset, ByteBuffer dst, Priority priority);

    /** A source read straight from a backend (tests, or a source on the same host). */
    static ChunkSource of(BlockBackend backend) {
        return (offset, dst, priority) -> backend.read(offset, dst);
    }
}
