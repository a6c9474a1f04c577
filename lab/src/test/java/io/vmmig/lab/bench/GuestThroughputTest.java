package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.testkit.ConsoleLine;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class GuestThroughputTest {
    private static final long S = 1_000_000_000L;

    private static ConsoleLine line(long nanos, String text) {
        return new ConsoleLine("src", 0, nanos, Instant.EPOCH, text);
    }

    @Test
    void parsesTputLinesRelativeToTheStartAndIgnoresOthers() {
        long start = 100 * S;
        GuestThroughput t = GuestThroughput.of(start, List.of(line(start - 2 * S, "TPUT 4096000 10"),
                line(start - S, "HB 5 100"), line(start + S / 2, "TPUT 2048 11"), line(start, "PREFILL DONE 8192")));
        assertEquals(2, t.samples().size());
        assertEquals(-2.0, t.samples().get(0).atSeconds(), 1e-9);
        assertEquals(4096000, t.samples().get(0).bytesPerSecond());
        assertEquals(0.5, t.samples().get(1).atSeconds(), 1e-9);
    }

    @Test
    void beforeDuringAndAfterWindows() {
        GuestThroughput t = new GuestThroughput(List.of(
                new GuestThroughput.Sample(-3.5, 900), new GuestThroughput.Sample(-2.5, 100),
                new GuestThroughput.Sample(-1.5, 200), new GuestThroughput.Sample(-0.5, 300),
                new GuestThroughput.Sample(0.5, 999),   // covers mostly the time before the start
                new GuestThroughput.Sample(1.5, 50), new GuestThroughput.Sample(2.5, 70),
                new GuestThroughput.Sample(3.2, 5),     // within 1 s after the end: left out
                new GuestThroughput.Sample(4.5, 400), new GuestThroughput.Sample(5.5, 600)));
        assertEquals(200, t.before(3), 1e-9);
        assertEquals(60, t.during(3.0), 1e-9);
        assertEquals(500, t.after(3.0), 1e-9);
    }

    @Test
    void aMigrationShorterThanOneReportTakesTheFirstReportAfterTheStart() {
        GuestThroughput t = new GuestThroughput(List.of(new GuestThroughput.Sample(-0.2, 100),
                new GuestThroughput.Sample(0.8, 40), new GuestThroughput.Sample(1.8, 90)));
        assertEquals(40, t.during(0.3), 1e-9);
        assertTrue(Double.isNaN(new GuestThroughput(List.of()).during(2)));
    }

    @Test
    void thePullWindowStartsASecondAfterTheSwitchoverAndNeedsOneReport() {
        GuestThroughput t = new GuestThroughput(java.util.List.of(new GuestThroughput.Sample(-1, 10), new GuestThroughput.Sample(5.5, 4),
                new GuestThroughput.Sample(6.5, 2), new GuestThroughput.Sample(7.5, 3), new GuestThroughput.Sample(9.5, 10)));
        // switchover at 5.0 s, end at 8.0 s: the reports at 6.5 and 7.5 s (5.5 s still covers the paused second)
        org.junit.jupiter.api.Assertions.assertEquals(2.5, t.duringPull(5.0, 8.0), 1e-9);
        org.junit.jupiter.api.Assertions.assertTrue(Double.isNaN(t.duringPull(7.5, 8.0)));
        org.junit.jupiter.api.Assertions.assertTrue(Double.isNaN(t.duringPull(Double.NaN, 8.0)));
    }
}
