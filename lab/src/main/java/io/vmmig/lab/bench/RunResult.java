package io.vmmig.lab.bench;

import java.util.List;

/**
 * Everything measured in one benchmark run. Times in milliseconds from the migration start, bytes as
 * counted on the source's veth end (frames with headers), throughputs in guest bytes per second.
 *
 * @param totalMillis         start to the later of the source's and the destination's end (disk local there)
 * @param cutoverMillis       start to the destination running the guest (its memory migration completed)
 * @param sourceTotalMillis   the engine's source-side total (MigrationReport)
 * @param sourceCutoverMillis the engine's source-side switchover (QEMU's completed at the source)
 * @param wireToDestination   veth bytes source to destination during the run
 * @param wireToSource        veth bytes destination to source during the run
 * @param diskBytesMoved      disk data the engine moved (push + pull answers + mirror)
 * @param ramBytes            bytes QEMU's memory migration sent
 * @param guestPauseMillis    heartbeat gap across the switchover (host clock), -1 if not seen
 * @param onDemandPulls       chunks pulled because the guest needed them
 * @param onDemandMicros      round trip of each on-demand pull (PULL sent to its data received at the
 *                            destination), microseconds; empty for mirror
 * @param verify              the guest's VERIFY line at the destination after the run
 * @param wire                cumulative veth bytes (each direction) over time
 * @param linkFill            how full the link to the destination was, overall and in the disk-only phases
 * @param guest               the guest's TPUT reports over time
 * @param error               why the run failed, or null
 */
public record RunResult(BenchStrategy strategy, BenchWorkload workload, LinkProfile link, int repeat,
                        long totalMillis, long cutoverMillis, long sourceTotalMillis, long sourceCutoverMillis,
                        long qemuDowntimeMillis, long guestPauseMillis,
                        long wireToDestination, long wireToSource, long diskBytesMoved, long ramBytes,
                        double tputBefore, double tputDuring, double tputAfter, long onDemandPulls,
                        List<Long> onDemandMicros,
                        boolean iterationLimitHit, String verify, List<WireSample> wire, LinkFill linkFill,
                        List<GuestThroughput.Sample> guest, String error) {

    /**
     * Cumulative veth bytes at a host time (seconds from the migration start), each direction: to the
     * destination (the source end's tx) and back to the source (its rx).
     */
    public record WireSample(double atSeconds, long toDestination, long toSource) {
        /** Both directions. */
        public long bytes() {
            return toDestination + toSource;
        }
    }

    /** The run completed and the guest read its disk back intact: only such runs count in the figures. */
    public boolean ok() {
        return error == null && !corrupted();
    }

    /**
     * The migration completed but the guest's VERIFY failed (or never answered), or its kernel faulted
     * ({@link GuestIntegrity}): marked, and excluded from every figure.
     */
    public boolean corrupted() {
        return error == null && (verify == null || !verify.startsWith("VERIFY OK"));
    }

    /** Why the run does not count, for the list of failed runs. */
    public String failure() {
        return error != null ? error : "guest integrity check failed, run excluded: " + verify + " (" + GuestIntegrity.diagnosis(verify) + ")";
    }

    /** Median on-demand pull round trip of this run in milliseconds, NaN if there was none. */
    public double onDemandMedianMillis() {
        return Spread.of(onDemandMicros.stream().map(us -> us / 1000.0).toList()).median();
    }

    /** Longest on-demand pull round trip of this run in milliseconds, NaN if there was none. */
    public double onDemandMaxMillis() {
        return onDemandMicros.stream().mapToDouble(us -> us / 1000.0).max().orElse(Double.NaN);
    }

    /**
     * How much longer the guest stood than QEMU says it paused it (the storage handover and the heartbeat's
     * granularity; on a WAN the goal is at most 1 RTT), NaN if either was not measured.
     */
    public double pauseBeyondDowntimeMillis() {
        return guestPauseMillis < 0 || qemuDowntimeMillis < 0 ? Double.NaN : guestPauseMillis - qemuDowntimeMillis;
    }

    public long wireBytes() {
        return wireToDestination + wireToSource;
    }

    public static RunResult failed(BenchStrategy s, BenchWorkload w, LinkProfile l, int repeat, String error) {
        return new RunResult(s, w, l, repeat, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, Double.NaN, Double.NaN, Double.NaN,
                -1, List.of(), false, "", List.of(), LinkFill.NONE, List.of(), error);
    }
}
