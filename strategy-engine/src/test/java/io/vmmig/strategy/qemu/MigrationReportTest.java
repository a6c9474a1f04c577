package io.vmmig.strategy.qemu;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.strategy.Strategy;
import java.util.List;
import org.junit.jupiter.api.Test;

class MigrationReportTest {
    private static final SourceReport SOURCE = new SourceReport(1 << 20, 1 << 20, 4, 2, 0, 0, 1 << 20, 4, 3, false, 0);

    @Test
    void summaryShowsOnDemandLatencyAndGuestWriteFigures() {
        DestinationReport d = new DestinationReport(1 << 20, 1 << 20, 3, 1, 0, 2, 3, 1500, 4200, 2, 7300, 41);
        String s = new MigrationReport("m1", Strategy.HYBRID, 1000, 900, 80, 10, 1 << 20, SOURCE, d, List.of()).summary();
        assertTrue(s.contains("on-demand pulls 3 (median 1.5 ms, max 4.2 ms demand to installed)"), s);
        assertTrue(s.contains("taken at once 41, writes that waited 2 (7.3 ms in all)"), s);
    }

    @Test
    void theSixFigureReportStillBuildsAndPrintsZeros() {
        DestinationReport d = new DestinationReport(0, 1 << 20, 0, 4, 0, 2);
        assertEquals(0, d.onDemandLatencyCount());
        String s = new MigrationReport("m2", Strategy.HYBRID, 1000, 900, 80, 10, 1 << 20, SOURCE, d, List.of()).summary();
        assertTrue(s.contains("on-demand pulls 0"), s);
    }

    @Test
    void summaryNamesTheStrategyAsTypedAndShowsPreparingInsideTheTotal() {
        DestinationReport d = new DestinationReport(0, 0, 0, 0, 0, 0);
        MigrationReport r = new MigrationReport("m3", Strategy.MIRROR, "mirror-wb", 6_400, 2_100, 5_000, 310, 280,
                1 << 20, SOURCE, d, List.of(), -1);
        String s = r.summary();
        assertTrue(s.startsWith("migration m3 (mirror-wb): total 6.40 s (preparing 2.10 s), cutover at 5.00 s,"
                + " downtime 310 ms (storage pause 280 ms inside it)"), s);
        assertEquals("mirror", new MigrationReport("m4", Strategy.MIRROR, 1, 1, 1, 1, 1, SOURCE, d, List.of()).strategyName());
    }

    @Test
    void theTotalRunsFromTheTimelinesZeroToItsLastEvent() throws Exception {
        long requested = System.nanoTime() - 2_000_000_000L;   // the operator asked 2 s ago
        MigrationTimeline t = new MigrationTimeline(requested);
        t.mark(MigrationEvent.STARTED);
        t.mark(MigrationEvent.SOURCE_RELEASED);
        DestinationReport d = new DestinationReport(0, 0, 0, 0, 0, 0);
        MigrationReport r = new MigrationReport("m5", Strategy.HYBRID, null, 10, t.at(MigrationEvent.STARTED).toMillis(),
                5, 100, 20, 0, SOURCE, d, List.of(), -1).endingAt(t);
        assertTrue(r.preparingMillis() >= 2_000, r.toString());
        assertTrue(r.totalMillis() >= r.preparingMillis(), r.toString());
        assertEquals("hybrid", r.strategyName());
        assertEquals(List.of("started", "source-released"), r.timeline().stream().map(MigrationTimeline.Mark::phase).toList());
    }

    @Test
    void qemusFiguresCountOnlyOnceComputed() {
        // QEMU 7.2: the completed event comes before total-time and downtime are computed
        assertFalse(QemuDowntime.computed(info("completed", 0L, 0L)));
        assertFalse(QemuDowntime.computed(info("device", 800L, null)));
        assertTrue(QemuDowntime.computed(info("completed", 812L, 290L)));
    }

    private static io.vmmig.qmp.command.QmpResults.MigrationInfo info(String status, Long total, Long downtime) {
        return new io.vmmig.qmp.command.QmpResults.MigrationInfo(status, null, total, null, downtime, null, null, null);
    }

    @Test
    void eventsNameTheirSideAndOnlyTheSwitchoverFactsPutTheGuestAtTheDestination() {
        MigrationTimeline t = new MigrationTimeline();
        java.util.List<MigrationEvent> seen = new java.util.ArrayList<>();
        t.onEvent(seen::add);
        t.mark(MigrationEvent.PAUSED);
        t.mark(MigrationEvent.REMAINING_SENT);
        assertFalse(t.guestAtDestination());
        t.mark(MigrationEvent.SWITCHED_OVER);
        assertTrue(t.guestAtDestination());
        assertEquals(List.of(MigrationEvent.PAUSED, MigrationEvent.REMAINING_SENT, MigrationEvent.SWITCHED_OVER), seen);
        assertEquals("running-at-destination", MigrationEvent.RUNNING_AT_DESTINATION.label());
        assertEquals(MigrationEvent.Side.DESTINATION, MigrationEvent.RUNNING_AT_DESTINATION.side());
    }
}
