package io.vmmig.agent.control;

/**
 * A progress sample of one migration. Byte counts are of the migrated disk unless named otherwise.
 *
 * @param elapsedMillis      since the migration started
 * @param diskBytes          virtual size of the disk
 * @param pushedBytes        disk bytes sent before the switchover
 * @param remainingBytes     bytes still to move (before the switchover: an estimate from what is not yet
 *                           pushed; after it: what is left to pull)
 * @param pulledBytes        bytes pulled after the switchover
 * @param ramTransferred     QEMU's RAM bytes transferred (query-migrate), 0 before memory started
 * @param ramRemaining       QEMU's RAM bytes remaining
 * @param ramTotal           QEMU's RAM total
 * @param bytesPerSecond     disk + RAM transfer rate over the last sample interval
 * @param etaSeconds         estimated seconds to the end, -1 if unknown
 * @param disks              each disk apart, for a VM with more than one (the totals above are their sums); empty otherwise
 */
public record MigrationProgress(long elapsedMillis, long diskBytes, long pushedBytes, long remainingBytes,
                                long pulledBytes, long ramTransferred, long ramRemaining, long ramTotal,
                                long bytesPerSecond, long etaSeconds, java.util.List<Disk> disks) {
    public MigrationProgress {
        disks = disks == null ? java.util.List.of() : java.util.List.copyOf(disks);
    }

    /** Without per-disk figures (one disk). */
    public MigrationProgress(long elapsedMillis, long diskBytes, long pushedBytes, long remainingBytes, long pulledBytes,
                             long ramTransferred, long ramRemaining, long ramTotal, long bytesPerSecond, long etaSeconds) {
        this(elapsedMillis, diskBytes, pushedBytes, remainingBytes, pulledBytes, ramTransferred, ramRemaining, ramTotal,
                bytesPerSecond, etaSeconds, java.util.List.of());
    }

    /** One disk's share: its name, size, bytes pushed, bytes pulled (after the switchover) and bytes still to move. */
    public record Disk(String name, long diskBytes, long pushedBytes, long pulledBytes, long remainingBytes) {}
}
