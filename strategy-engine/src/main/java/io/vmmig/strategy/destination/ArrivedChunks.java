package io.vmmig.strategy.destination;

import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Pulled chunks between their arrival from the source and their installation in the local image on the local data
 * path: QEMU reads them from the agent's export (the image's backing node) while it copies them in, and a guest
 * read of a chunk being pulled is answered from here as soon as the bytes arrive.
 */
final class ArrivedChunks {
    private final Map<Integer, CompletableFuture<ByteBuffer>> chunks = new HashMap<>();
    /** Chunks missing at the hand-over that are in the image now. */
    private final BitSet installed = new BitSet();

    /** The bytes of a missing chunk once they arrive; null if it was installed already (the image holds it). */
    synchronized CompletableFuture<ByteBuffer> await(int chunk) {
        if (installed.get(chunk)) return null;
        return chunks.computeIfAbsent(chunk, c -> new CompletableFuture<>());
    }

    /** The chunk's bytes arrived (read-only from here on; the buffer is not changed afterwards). */
    synchronized void arrived(int chunk, ByteBuffer bytes) {
        chunks.computeIfAbsent(chunk, c -> new CompletableFuture<>()).complete(bytes.asReadOnlyBuffer());
    }

    /** The chunk is in the image: QEMU reads it there from now on. */
    synchronized void installed(int chunk) {
        installed.set(chunk);
        chunks.remove(chunk);
    }

    /**
     * The guest wrote the whole chunk here: it counts as installed without a pull, unless a read of it already waits
     * for its bytes (then false: it must be pulled for that read).
     */
    synchronized boolean installedUnlessAwaited(int chunk) {
        if (chunks.containsKey(chunk)) return false;
        installed.set(chunk);
        return true;
    }
}
