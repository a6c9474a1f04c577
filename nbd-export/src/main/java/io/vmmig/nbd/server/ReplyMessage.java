package io.vmmig.nbd.server;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A complete reply (all chunks) ready to be written in one go, plus the pooled buffers to give
 * back once it has been written.
 */
record ReplyMessage(ByteBuffer[] buffers, List<ByteBuffer> pooled) {
    static ReplyMessage of(ByteBuffer... buffers) {
        return new ReplyMessage(buffers, List.of());
    }
}
