package io.vmmig.strategy.qemu;

/**
 * What the source side of a disk migration did.
 *
 * @param pushedBytes       disk bytes sent before cutover (pre-copy: all rounds, including the last)
 * @param pushedWireBytes   bytes those took on the wire after zero elision and compression
 * @param pushedChunks      chunks sent before cutover
 * @param rounds            pre-copy rounds, or dirty epochs for hybrid/post-copy, or 0
 * @param zeroSkippedBytes  allocated all-zero bytes never sent
 * @param unallocatedBytes  bytes not allocated in the layer moved, never read
 * @param servedPullBytes   bytes served to the destination's pulls after cutover
 * @param remainingChunks   chunks handed over at cutover
 * @param pauseMillis       time the source guest stayed paused for storage at switchover
 * @param iterationLimitHit pre-copy stopped iterating without converging
 * @param mirroredBytes     bytes QEMU's mirror job copied (mirror only)
 * @param compression       how the chunk data was compressed and what that saved (never null)
 * @param dedupBytes        chunk bytes the destination copied from its own images (their fingerprints matched): never crossed
 * @param fingerprintedChunks pieces whose SHA-256 was sent first (dedup on)
 * @param fingerprintWireBytes bytes the FINGERPRINTS frames took on the wire
 */
public record SourceReport(long pushedBytes, long pushedWireBytes, long pushedChunks, int rounds, long zeroSkippedBytes,
                           long unallocatedBytes, long servedPullBytes, int remainingChunks, long pauseMillis,
                           boolean iterationLimitHit, long mirroredBytes, Compression compression, long dedupBytes,
                           long fingerprintedChunks, long fingerprintWireBytes) {

    public SourceReport {
        if (compression == null) compression = Compression.NONE;
    }

    /** Without dedup. */
    public SourceReport(long pushedBytes, long pushedWireBytes, long pushedChunks, int rounds, long zeroSkippedBytes,
                        long unallocatedBytes, long servedPullBytes, int remainingChunks, long pauseMillis,
                        boolean iterationLimitHit, long mirroredBytes, Compression compression) {
        this(pushedBytes, pushedWireBytes, pushedChunks, rounds, zeroSkippedBytes, unallocatedBytes, servedPullBytes,
                remainingChunks, pauseMillis, iterationLimitHit, mirroredBytes, compression, 0, 0, 0);
    }

    /** No compression figures (mirror; nothing sent yet). */
    public SourceReport(long pushedBytes, long pushedWireBytes, long pushedChunks, int rounds, long zeroSkippedBytes,
                        long unallocatedBytes, long servedPullBytes, int remainingChunks, long pauseMillis,
                        boolean iterationLimitHit, long mirroredBytes) {
        this(pushedBytes, pushedWireBytes, pushedChunks, rounds, zeroSkippedBytes, unallocatedBytes, servedPullBytes,
                remainingChunks, pauseMillis, iterationLimitHit, mirroredBytes, null);
    }

    /**
     * What compression did to the chunks the source sent (pushes and pull answers).
     *
     * @param mode                 off, deflate, zstd or adaptive
     * @param servedPullWireBytes  payload bytes the pull answers took on the wire (-1: not counted)
     * @param compressedChunks     chunks sent compressed
     * @param incompressibleChunks chunks compressed for nothing and sent RAW (did not shrink by 1/64)
     * @param compressMillis       time spent compressing, all threads
     * @param windows              adaptive: measurement windows closed
     * @param windowsOn            adaptive: of them, with compression on
     * @param switches             adaptive: times the mode changed
     */
    public record Compression(String mode, long servedPullWireBytes, long compressedChunks, long incompressibleChunks,
                              long compressMillis, long windows, long windowsOn, int switches) {
        public static final Compression NONE = new Compression("off", -1, 0, 0, 0, 0, 0, 0);
    }

    /** Disk bytes sent as chunks (pushes and pull answers), before compression. */
    public long chunkRawBytes() {
        return pushedBytes + servedPullBytes;
    }

    /** Payload bytes those took on the wire (pull answers counted raw where their wire size is unknown). */
    public long chunkWireBytes() {
        return pushedWireBytes + (compression.servedPullWireBytes() >= 0 ? compression.servedPullWireBytes() : servedPullBytes);
    }
}
