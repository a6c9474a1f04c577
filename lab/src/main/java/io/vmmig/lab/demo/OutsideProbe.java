package io.vmmig.lab.demo;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.testkit.SerialConsole;
import io.vmmig.testkit.net.GuestLan;
import io.vmmig.testkit.net.GuestProbe;
import io.vmmig.testkit.net.ProbeRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The demo's downtime from outside: with the guest LAN (namespaces), a probe from the client namespace sends
 * a UDP datagram to the guest's echo every 10 ms from before the migration to after it, and the longest gap
 * between answers is shown beside QEMU's downtime and the guest's heartbeat gap. Without the LAN it does nothing.
 */
final class OutsideProbe implements AutoCloseable {
    static final Duration INTERVAL = Duration.ofMillis(10);
    private final Optional<GuestLan> lan;
    private final GuestProbe probe;
    private final Progress out;

    private OutsideProbe(Optional<GuestLan> lan, GuestProbe probe, Progress out) {
        this.lan = lan;
        this.probe = probe;
        this.out = out;
    }

    /** Once the guest's echo is up (its console says so), starts probing and waits for the first answers. */
    static OutsideProbe start(Optional<GuestLan> lan, SerialConsole console, Progress out) {
        if (lan.isEmpty()) return new OutsideProbe(lan, null, out);
        console.awaitLine(Pattern.compile("^VMMIG-NET udp-echo on "), Duration.ofMinutes(3));
        GuestProbe p = lan.get().probe(INTERVAL);
        if (!p.awaitAnswers(20, Instant.EPOCH, Duration.ofMinutes(1))) {
            p.close();
            throw new IllegalStateException("the guest does not answer the outside probe: " + p.record().summary() + " " + p.output());
        }
        out.say("outside probe: %s answers a UDP datagram every %d ms from the client namespace", GuestLan.GUEST_ADDRESS,
                INTERVAL.toMillis());
        return new OutsideProbe(lan, p, out);
    }

    /** After the migration: waits for answers from the destination, then shows the downtime three ways. */
    void report(ControlEvent.Report report, long heartbeatGapMillis) throws Exception {
        if (probe == null) return;
        Instant now = Instant.now();
        Duration wait = lan.get().switchAgeing().plus(Duration.ofMinutes(1));
        if (!probe.awaitAnswers(20, now, wait)) {
            out.say("outside probe: no answers from the guest within %d s after the migration: %s", wait.toSeconds(),
                    probe.record().summary());
            return;
        }
        ProbeRecord rec = probe.record();
        MigrationReport engine = ControlCodec.mapper().treeToValue(report.report(), MigrationReport.class);
        Optional<ProbeRecord.Gap> gap = rec.longestGap();
        out.say("downtime three ways: QEMU %d ms (its own figure), guest heartbeat gap %d ms, from outside %s; announce %s;"
                        + " the switch has the guest on host %s",
                engine.qemuDowntimeMillis(), heartbeatGapMillis,
                gap.map(g -> g.duration().toMillis() + " ms (longest gap between answers, " + g.unanswered() + " probes unanswered)")
                        .orElse("n/a"),
                report.report().path("afterSwitchover").path("announce").asText("?"),
                lan.get().switchPortOf(GuestLan.GUEST_MAC).map(Enum::name).orElse("none"));
    }

    @Override
    public void close() {
        if (probe != null) probe.close();
    }
}
