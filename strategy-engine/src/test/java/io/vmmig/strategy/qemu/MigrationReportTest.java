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
}
