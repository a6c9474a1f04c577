package io.vmmig.strategy.dedup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.Predicate;

/**
 * Where the destination may already hold a chunk: the images it keeps (seed 003's neighbourhood).
 * An index keeps only a prefix of each fingerprint, so what it offers are candidates; the
 * {@link LocalChunkMatcher} verifies every one by its full SHA-256 before anything is used.
 */
public interface ChunkIndex {
    /** The chunk size this index was built at (a migration at another size cannot use it). */
    int chunkSize();

    /**
     * Reads each local chunk listed under {@code sha256}'s prefix into {@code dst} (cleared, filled
     * to its limit, flipped) and offers it to {@code accept}, until one is accepted.
     *
     * @return whether a candidate was accepted (then {@code dst} holds it)
     */
    boolean readCandidates(byte[] sha256, ByteBuffer dst, Predicate<ByteBuffer> accept) throws IOException;
}
