package io.vmmig.strategy.qemu;

import io.vmmig.strategy.Strategy;
import java.util.List;

/**
 * The result of one disk-and-memory migration, as the CLI and the benchmark print it. Times in
 * milliseconds from the operator's request (the agent's) or the driver's start (engine-only tests).
 *
 * @param strategyName       the strategy as the user typed it ({@code mirror-wb}); {@code strategy} is the engine's
 * @param totalMillis        request to the end: the destination holds the whole disk and the source is released
 * @param preparingMillis    request to the driver's start (checks, the destination's prepare); inside the total
 * @param cutoverMillis      request to QEMU's switchover (memory migration completed)
 * @param qemuDowntimeMillis QEMU's own downtime figure (query-migrate {@code downtime}, once computed): the
 *                           guest stopped at the source until it ran at the destination; the storage pause is inside it
 * @param storagePauseMillis time the paused source spent on storage at switchover (part of the downtime)
 * @param ramBytes           bytes QEMU's memory migration transferred
 * @param timeline           when each event happened
 * @param guestGapMillis     the guest-visible pause: the longest gap in the guest's own heartbeats across
 *                           the switchover, measured by whoever sees the guest's console; -1 if unknown
 */
public record MigrationReport(String migrationId, Strategy strategy, String strategyName, long totalMillis,
                              long preparingMillis, long cutoverMillis, long qemuDowntimeMillis, long storagePauseMillis,
                              long ramBytes, SourceReport source, DestinationReport destination,
                              List<MigrationTimeline.Mark> timeline, long guestGapMillis) {

    public MigrationReport {
        if (strategyName == null) strategyName = strategy.cliName();
    }

    /** Named as the engine names the strategy, nothing before the driver's start, guest gap unknown. */
    public MigrationReport(String migrationId, Strategy strategy, long totalMillis, long cutoverMillis,
                           long qemuDowntimeMillis, long storagePauseMillis, long ramBytes,
                           SourceReport source, DestinationReport destination, List<MigrationTimeline.Mark> timeline) {
        this(migrationId, strategy, strategy.cliName(), totalMillis, 0, cutoverMillis, qemuDowntimeMillis, storagePauseMillis,
                ramBytes, source, destination, timeline, -1);
    }

    /** This report with the guest-visible pause measured from the guest's heartbeats. */
    public MigrationReport withGuestGap(long millis) {
        return new MigrationReport(migrationId, strategy, strategyName, totalMillis, preparingMillis, cutoverMillis,
                qemuDowntimeMillis, storagePauseMillis, ramBytes, source, destination, timeline, millis);
    }

    /** This report with the source's disks named {@code names} (in the migration's order). */
    public MigrationReport withDiskNames(List<String> names) {
        return new MigrationReport(migrationId, strategy, strategyName, totalMillis, preparingMillis, cutoverMillis,
                qemuDowntimeMillis, storagePauseMillis, ramBytes, source.withDiskNames(names), destination, timeline, guestGapMillis);
    }

    /** This report with the destination side's figures. */
    public MigrationReport withDestination(DestinationReport d) {
        return new MigrationReport(migrationId, strategy, strategyName, totalMillis, preparingMillis, cutoverMillis,
                qemuDowntimeMillis, storagePauseMillis, ramBytes, source, d, timeline, guestGapMillis);
    }

    /** This report ending at {@code timeline}'s last event (e.g. the source released after the destination's report). */
    public MigrationReport endingAt(MigrationTimeline t) {
        return new MigrationReport(migrationId, strategy, strategyName, t.elapsed().toMillis(), preparingMillis, cutoverMillis,
                qemuDowntimeMillis, storagePauseMillis, ramBytes, source, destination, t.marks(), guestGapMillis);
    }

    /** Bytes of disk data that crossed from source to destination (pushes, pull answers, mirror, dedup fingerprints). */
    public long diskBytesMoved() {
        return source.chunkWireBytes() + source.mirroredBytes() + source.fingerprintWireBytes();
    }

    /** A one-screen summary for people. */
    public String summary() {
        StringBuilder b = new StringBuilder();
        b.append(String.format("migration %s (%s): total %.2f s (preparing %.2f s), cutover at %.2f s, downtime %s (storage pause %d ms inside it%s)%n",
                migrationId, strategyName, totalMillis / 1000.0, preparingMillis / 1000.0, cutoverMillis / 1000.0,
                qemuDowntimeMillis >= 0 ? qemuDowntimeMillis + " ms" : "unknown", storagePauseMillis,
                guestGapMillis >= 0 ? ", guest saw " + guestGapMillis + " ms" : ""));
        DestinationReport d = destination != null ? destination : new DestinationReport(0, 0, 0, 0, 0, 0);
        b.append(String.format("  disk: pushed %s (%d chunks, %s on the wire), pulled %s (%d on demand, %d background),"
                        + " zero-skipped %s, unallocated %s, mirrored %s%n",
                bytes(source.pushedBytes()), source.pushedChunks(), bytes(source.pushedWireBytes()),
                bytes(d.pulledBytes()), d.pulledOnDemand(), d.pulledBackground(),
                bytes(source.zeroSkippedBytes()), bytes(source.unallocatedBytes()), bytes(source.mirroredBytes())));
        if (source.fingerprintedChunks() > 0) {
            b.append(String.format("  dedup %s local (copied at the destination from its own images, verified by SHA-256),"
                            + " %d chunks fingerprinted, fingerprints %s on the wire%n",
                    bytes(source.dedupBytes()), source.fingerprintedChunks(), bytes(source.fingerprintWireBytes())));
        }
        for (SourceReport.DiskFigures f : source.disks())
            b.append(String.format("  disk %s (%s): pushed %s, handed over %s%n", f.name(), bytes(f.size()), bytes(f.pushedBytes()),
                    f.handedOverBytes() < 0 ? "nothing yet" : bytes(f.handedOverBytes()) + " (pulled, or overwritten by the guest at the destination)"));
        SourceReport.Compression z = source.compression();
        if (!z.mode().equals("off")) {
            long raw = source.chunkRawBytes(), wire = source.chunkWireBytes();
            b.append(String.format("  compression %s: chunks raw %s, on the wire %s (%.1f %%); %d chunks compressed, %d sent raw"
                            + " (did not shrink), %d ms compressing%s%n", z.mode(), bytes(raw), bytes(wire),
                    raw == 0 ? 100.0 : 100.0 * wire / raw, z.compressedChunks(), z.incompressibleChunks(), z.compressMillis(),
                    z.mode().equals("adaptive") ? String.format("; adaptive: %d windows, %d on, %d switches", z.windows(),
                            z.windowsOn(), z.switches()) : ""));
        }
        if (d.pulledBytes() > 0 || d.onDemandLatencyCount() > 0 || d.writesWaited() > 0 || d.writesTakenAtOnce() > 0) {
            b.append(String.format("  on-demand pulls %d (median %.1f ms, max %.1f ms demand to installed);"
                            + " guest writes into missing chunks taken at once %d, writes that waited %d (%.1f ms in all)%n",
                    d.onDemandLatencyCount(), d.onDemandMedianMicros() / 1000.0, d.onDemandMaxMicros() / 1000.0,
                    d.writesTakenAtOnce(), d.writesWaited(), d.writeWaitMicros() / 1000.0));
        }
        if (d.localDataPath())
            b.append(String.format("  guest I/O on the local image from the switchover on; QEMU read %s from the agent (missing chunks),"
                    + " hand-over applied in %d ms, guest run %d ms after its memory arrived%n", bytes(d.agentReadBytes()), d.attachMillis(),
                    d.guestHeldMillis()));
        else if (d.agentReadBytes() > 0)
            b.append(String.format("  guest I/O through the agent's export until the pivot: %s read%n", bytes(d.agentReadBytes())));
        b.append(String.format("  rounds/epochs %d, remaining at cutover %d chunks%s; RAM %s%n", source.rounds(),
                source.remainingChunks(), source.iterationLimitHit() ? ", PRE-COPY ITERATION LIMIT HIT" : "",
                bytes(ramBytes)));
        b.append("  timeline:");
        for (MigrationTimeline.Mark m : timeline) b.append(String.format(" %s@%.2fs", m.phase(), m.at().toMillis() / 1000.0));
        return b.append('\n').toString();
    }

    static String bytes(long n) {
        if (n >= 1L << 30) return String.format("%.2f GiB", n / (double) (1L << 30));
        if (n >= 1L << 20) return String.format("%.1f MiB", n / (double) (1L << 20));
        if (n >= 1L << 10) return String.format("%.1f KiB", n / 1024.0);
        return n + " B";
    }
}
