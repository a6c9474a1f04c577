package io.vmmig.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeartbeatsTest {
    private static ConsoleLine line(String source, int index, long ms, String text) {
        return new ConsoleLine(source, index, ms * 1_000_000L, Instant.EPOCH.plusMillis(ms), text);
    }

    @Test
    void mergesSourceAndDestinationAndFindsTheMigrationGap() {
        List<ConsoleLine> src = List.of(line("src", 0, 1000, "HB 1 500"), line("src", 1, 1020, "HB 2 520"),
                line("src", 2, 1030, "TPUT 100 5"), line("src", 3, 1040, "HB 3 540"));
        List<ConsoleLine> dst = List.of(line("dst", 0, 1290, "HB 4 790"), line("dst", 1, 1310, "HB 5 810"),
                line("dst", 2, 1311, "HB 3 540"));   // a duplicate arriving later loses
        Heartbeats hb = Heartbeats.of(dst, src);
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), hb.all().stream().map(Heartbeats.Heartbeat::seq).toList());
        assertEquals("src", hb.all().get(2).line().source());
        Heartbeats.Gap gap = hb.longestHostGap().orElseThrow();
        assertEquals(3, gap.before().seq());
        assertEquals(Duration.ofMillis(250), gap.host());
        assertEquals(Duration.ofMillis(250), gap.guest());
        assertEquals(0, hb.missing());
        assertEquals(List.of(gap), hb.consoleChanges());
    }

    @Test
    void countsMissingBeats() {
        Heartbeats hb = Heartbeats.of(List.of(line("a", 0, 0, "HB 7 0"), line("a", 1, 60, "HB 10 60")));
        assertEquals(2, hb.missing());
        assertEquals(Duration.ofMillis(60), hb.longestHostGap().orElseThrow().host());
    }
}
