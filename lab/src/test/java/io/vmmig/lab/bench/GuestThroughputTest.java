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
}
