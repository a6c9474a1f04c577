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
 */
public record MigrationProgress(long elapsedMillis, long diskBytes, long pushedBytes, long remainingBytes,
                                long pulledBytes, long ramTransferred, long ramRemaining, long ramTotal,
                                long bytesPerSecond, long etaSeconds) {}
