package io.vmmig.nbd.client;

import java.util.List;
import java.util.Map;

/** Reply to one BLOCK_STATUS request: extents per meta context name, in order, starting at the request offset. */
public record BlockStatus(long offset, long requestedLength, Map<String, List<Extent>> byContext) {

    public BlockStatus {
        byContext = Map.copyOf(byContext);
    }

    /** @return the extents of this context (empty if the server sent none for it). */
    public List<Extent> extents(String context) {
        return byContext.getOrDefault(context, List.of());
    }
}
