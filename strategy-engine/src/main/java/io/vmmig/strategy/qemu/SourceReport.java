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
 * @param dedupBytes        pushed chunks the destination copied from its own images (their fingerprints matched): never crossed
 * @param fingerprintedChunks chunks whose SHA-256 was sent first (dedup on)
 * @param fingerprintWireBytes bytes the FINGERPRINTS frames took on the wire
 */
public record SourceReport(long pushedBytes, long pushedWireBytes, long pushedChunks, int rounds, long zeroSkippedBytes,
                           long unallocatedBytes, long servedPullBytes, int remainingChunks, long pauseMillis,
                           boolean iterationLimitHit, long mirroredBytes, long dedupBytes, long fingerprintedChunks,
                           long fingerprintWireBytes) {
    /** Without dedup. */
    public SourceReport(long pushedBytes, long pushedWireBytes, long pushedChunks, int rounds, long zeroSkippedBytes,
                        long unallocatedBytes, long servedPullBytes, int remainingChunks, long pauseMillis,
                        boolean iterationLimitHit, long mirroredBytes) {
        this(pushedBytes, pushedWireBytes, pushedChunks, rounds, zeroSkippedBytes, unallocatedBytes, servedPullBytes,
                remainingChunks, pauseMillis, iterationLimitHit, mirroredBytes, 0, 0, 0);
    }
}
