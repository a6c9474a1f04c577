package io.vmmig.strategy.dedup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Finds a chunk the source fingerprinted among the destination's own images: asks the
 * {@link ChunkIndex} for candidates and accepts one only if the SHA-256 of the bytes read here equals
 * the source's digest in full. A truncated key alone is never trusted, nor a digest the source
 * claims for bytes this host does not have (a forged or stale fingerprint is just a miss).
 */
public final class LocalChunkMatcher {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LocalChunkMatcher.class);
    private final ChunkIndex index;
    private final AtomicLong lookups = new AtomicLong();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong zeroHits = new AtomicLong();

    public LocalChunkMatcher(ChunkIndex index) {
        this.index = index;
    }

    public int chunkSize() {
        return index.chunkSize();
    }

    /** SHA-256 of {@code length} zero bytes, by length (a zero piece is found without any index). */
    private final java.util.Map<Integer, byte[]> zeroDigests = new java.util.concurrent.ConcurrentHashMap<>();

    /** The local bytes whose SHA-256 is {@code sha256} and length {@code length}, or null. */
    public ByteBuffer find(byte[] sha256, int length) {
        lookups.incrementAndGet();
        ByteBuffer dst = ByteBuffer.allocate(length);
        MessageDigest md = ChunkDigest.sha256();
        byte[] zero = zeroDigests.computeIfAbsent(length, n -> ChunkDigest.of(ChunkDigest.sha256(), ByteBuffer.allocate(n)));
        if (MessageDigest.isEqual(zero, sha256)) {
            hits.incrementAndGet();
            zeroHits.incrementAndGet();
            return dst;
        }
        try {
            boolean found = index.readCandidates(sha256, dst, candidate -> {
                md.reset();
                md.update(candidate.duplicate());
                boolean same = MessageDigest.isEqual(md.digest(), sha256);
                if (!same) rejected.incrementAndGet();
                return same;
            });
            if (!found) return null;
        } catch (IOException | RuntimeException e) {
            LOG.warn("reading a local dedup candidate failed (the chunk is sent instead): {}", e.toString());
            return null;
        }
        hits.incrementAndGet();
        return dst;
    }

    public long lookups() { return lookups.get(); }

    public long hits() { return hits.get(); }

    /** Hits that were all-zero pieces (no read needed). */
    public long zeroHits() { return zeroHits.get(); }

    /** Candidates whose bytes did not have the source's SHA-256 (prefix collisions, stale entries, forged digests). */
    public long rejected() { return rejected.get(); }
}
