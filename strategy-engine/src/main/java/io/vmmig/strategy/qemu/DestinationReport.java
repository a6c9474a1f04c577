package io.vmmig.strategy.qemu;

/**
 * What the destination side of a disk migration did.
 *
 * @param receivedPushBytes      bytes pushed by the source and stored before the hand-over
 * @param pulledBytes            bytes pulled after the hand-over
 * @param pulledOnDemand         chunks pulled because the guest needed them
 * @param pulledBackground       chunks pulled in the background, hottest first
 * @param cancelledByWrite       pulls the guest made unnecessary by writing a whole chunk
 * @param pivotMillis            time of the switch from the agent's export to the local image
 * @param onDemandLatencyCount   on-demand pulls whose latency (guest demand to bytes installed) was measured
 * @param onDemandMedianMicros   median of that latency, microseconds
 * @param onDemandMaxMicros      largest of that latency, microseconds
 * @param writesWaited           guest writes that had to wait (hand-over, a pull, an install)
 * @param writeWaitMicros        their total wait, microseconds
 * @param writesTakenAtOnce      guest writes into missing chunks that went to the store at once
 * @param resumes                times the pull went on over a new connection after its link broke
 * @param resentPulls            pulls in flight at a cut, asked again on the next connection (never answered before)
 * @param refetchedChunks        chunks whose bytes came from the source more than once (a resume keeps it 0)
 * @param dedupBytes             pushed bytes copied from this host's own images (fingerprints matched and verified)
 * @param dedupRejected          local candidates whose SHA-256 did not match the source's (never used)
 * @param localDataPath          the guest's disk was the local image from the switchover on, the agent's export only its
 *                               backing node (ChunkTransferDestination's local data path); false: every guest I/O
 *                               crossed the agent until the pivot
 * @param agentReadBytes         bytes the destination QEMU read from the agent's export (on the local data path: missing
 *                               chunks only; otherwise every guest read until the pivot)
 * @param attachMillis           local data path: the hand-over's discards and backing nodes attached, ms (-1: none)
 * @param guestHeldMillis        local data path: from QEMU's incoming migration completed to the guest running ({@code cont}
 *                               returned), ms; part of the guest's pause that QEMU's downtime does not count (-1: none)
 */
@com.fasterxml.jackson.annotation.JsonIgnoreProperties(ignoreUnknown = true)
public record DestinationReport(long receivedPushBytes, long pulledBytes, long pulledOnDemand, long pulledBackground,
                                long cancelledByWrite, long pivotMillis,
                                long onDemandLatencyCount, long onDemandMedianMicros, long onDemandMaxMicros,
                                long writesWaited, long writeWaitMicros, long writesTakenAtOnce,
                                int resumes, long resentPulls, long refetchedChunks, long dedupBytes, long dedupRejected,
                                boolean localDataPath, long agentReadBytes, long attachMillis, long guestHeldMillis) {

    /** Without the data path's figures (the agent's export on the guest's path). */
    public DestinationReport(long receivedPushBytes, long pulledBytes, long pulledOnDemand, long pulledBackground,
                             long cancelledByWrite, long pivotMillis,
                             long onDemandLatencyCount, long onDemandMedianMicros, long onDemandMaxMicros,
                             long writesWaited, long writeWaitMicros, long writesTakenAtOnce,
                             int resumes, long resentPulls, long refetchedChunks, long dedupBytes, long dedupRejected) {
        this(receivedPushBytes, pulledBytes, pulledOnDemand, pulledBackground, cancelledByWrite, pivotMillis,
                onDemandLatencyCount, onDemandMedianMicros, onDemandMaxMicros, writesWaited, writeWaitMicros, writesTakenAtOnce,
                resumes, resentPulls, refetchedChunks, dedupBytes, dedupRejected, false, 0, -1, -1);
    }

    /** Without dedup. */
    public DestinationReport(long receivedPushBytes, long pulledBytes, long pulledOnDemand, long pulledBackground,
                             long cancelledByWrite, long pivotMillis,
                             long onDemandLatencyCount, long onDemandMedianMicros, long onDemandMaxMicros,
                             long writesWaited, long writeWaitMicros, long writesTakenAtOnce,
                             int resumes, long resentPulls, long refetchedChunks) {
        this(receivedPushBytes, pulledBytes, pulledOnDemand, pulledBackground, cancelledByWrite, pivotMillis,
                onDemandLatencyCount, onDemandMedianMicros, onDemandMaxMicros, writesWaited, writeWaitMicros, writesTakenAtOnce,
                resumes, resentPulls, refetchedChunks, 0, 0);
    }

    /** Without the resume figures (a pull that never lost its link). */
    public DestinationReport(long receivedPushBytes, long pulledBytes, long pulledOnDemand, long pulledBackground,
                             long cancelledByWrite, long pivotMillis,
                             long onDemandLatencyCount, long onDemandMedianMicros, long onDemandMaxMicros,
                             long writesWaited, long writeWaitMicros, long writesTakenAtOnce) {
        this(receivedPushBytes, pulledBytes, pulledOnDemand, pulledBackground, cancelledByWrite, pivotMillis,
                onDemandLatencyCount, onDemandMedianMicros, onDemandMaxMicros, writesWaited, writeWaitMicros, writesTakenAtOnce,
                0, 0, 0);
    }

    /** Without the on-demand latency and guest-write figures (all zero). */
    public DestinationReport(long receivedPushBytes, long pulledBytes, long pulledOnDemand, long pulledBackground,
                             long cancelledByWrite, long pivotMillis) {
        this(receivedPushBytes, pulledBytes, pulledOnDemand, pulledBackground, cancelledByWrite, pivotMillis,
                0, 0, 0, 0, 0, 0);
    }
}
