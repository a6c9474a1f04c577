package io.vmmig.lab.bench;

import java.util.List;

/**
 * One run of one system in the side-by-side scenario ({@link PeerSystem}); times in ms from the migration's
 * start, bytes on the source host's veth end.
 *
 * @param totalMillis      start to the end: the disk local at the destination (vmmig: the report's total;
 *                         libvirt: the {@code virsh migrate} command's wall time)
 * @param commandMillis    wall time of the command that did it (vmmig CLI incl. JVM start and PREPARING; virsh);
 *                         for the in-process bench path the same as the total
 * @param cliAcceptedMillis vmmig CLI: from starting {@code vmmig migrate} (the launcher, JVM start included) to the
 *                         agent's {@code accepted} line; -1 for the other systems
 * @param preparingMillis  vmmig CLI: the migration's PREPARING phase (agent clock); -1 for the other systems
 * @param downtimeMillis   QEMU's downtime (vmmig on plain QEMU: query-migrate; libvirt domains: domjobinfo --completed)
 * @param guestPauseMillis the guest's heartbeat gap across the switchover (host clock), -1 if not seen
 * @param ramBytes         memory migration bytes (QEMU's or libvirt's figure), -1 if unknown
 * @param agentCpuSeconds  user + system CPU of the migrating agents over the run (see {@link PeerSystem#agents})
 * @param tputPull         the guest's write rate at the destination during the pull ({@link GuestThroughput#duringPull}),
 *                         NaN without a pull of its own (libvirt, a pull shorter than 2 s)
 * @param verify           the guest's verdict at the destination (VERIFY line, or a kernel fault)
 * @param load             the 1-minute load average at the end of the run
 */
public record PeerResult(PeerSystem system, LinkProfile link, int repeat, long totalMillis, long commandMillis,
                         long cliAcceptedMillis, long preparingMillis, long downtimeMillis, long guestPauseMillis, long wireToDestination, long wireToSource, long ramBytes,
                         double tputBefore, double tputDuring, double tputAfter, double tputPull, double agentCpuSeconds, String verify,
                         String load, List<RunResult.WireSample> wire, List<GuestThroughput.Sample> guest, String error) {

    public boolean ok() {
        return error == null && verify != null && verify.startsWith("VERIFY OK");
    }

    public long wireBytes() {
        return wireToDestination + wireToSource;
    }

    /** Why the run does not count. */
    public String failure() {
        if (error != null) return error;
        return "INVALID RUN (guest integrity): " + verify + " (" + GuestIntegrity.diagnosis(verify) + ")";
    }

    static PeerResult failed(PeerSystem s, LinkProfile l, int repeat, String error) {
        return new PeerResult(s, l, repeat, -1, -1, -1, -1, -1, -1, -1, -1, -1, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, "",
                BenchRun.loadAverage(), List.of(), List.of(), error);
    }

    /** The bench path's result (vmmig hybrid on plain QEMU) with the bench JVM's CPU over the run. */
    static PeerResult of(RunResult r, double cpuSeconds) {
        if (r.error() != null) return failed(PeerSystem.VMMIG_QEMU, r.link(), r.repeat(), r.error());
        return new PeerResult(PeerSystem.VMMIG_QEMU, r.link(), r.repeat(), r.totalMillis(), r.totalMillis(), -1, -1, r.qemuDowntimeMillis(),
                r.guestPauseMillis(), r.wireToDestination(), r.wireToSource(), r.ramBytes(), r.tputBefore(), r.tputDuring(),
                r.tputAfter(), new GuestThroughput(r.guest()).duringPull(r.cutoverMillis() / 1000.0, r.totalMillis() / 1000.0),
                cpuSeconds, r.verify(), BenchRun.loadAverage(), r.wire(), r.guest(), null);
    }

    /** As a RunResult for {@link TimelinePlot} (only the timeline fields and the label matter there). */
    RunResult forPlot() {
        return new RunResult(BenchStrategy.HYBRID, BenchWorkload.STEADY, link, repeat, totalMillis, totalMillis, totalMillis,
                totalMillis, downtimeMillis, guestPauseMillis, wireToDestination, wireToSource, -1, ramBytes, tputBefore,
                tputDuring, tputAfter, 0, List.of(), false, verify, wire, LinkFill.NONE, guest, error);
    }
}
