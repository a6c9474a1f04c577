package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.strategy.qemu.MigrationEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LinkFillTest {
    private static final long RATE = 100_000_000L;
    /** Bytes a second at the full 100 Mbit/s. */
    private static final double FULL = RATE / 8.0;

    /**
     * Samples every 250 ms over 0-10 s: the source sends at {@code fill(t)} of the link (and 1 % of that
     * comes back, which the fill must not count).
     */
    private static List<RunResult.WireSample> samples(java.util.function.DoubleUnaryOperator fill) {
        List<RunResult.WireSample> out = new ArrayList<>();
        double tx = 0;
        out.add(new RunResult.WireSample(0, 0, 0));
        for (int i = 1; i <= 40; i++) {
            double t = i * 0.25;
            tx += fill.applyAsDouble(t - 0.125) * FULL * 0.25;
            out.add(new RunResult.WireSample(t, Math.round(tx), Math.round(tx / 100)));
        }
        return out;
    }

    @Test
    void aKnownFillComesOutOverallAndInEachDiskPhase() {
        // 0-1 s setup (nothing), 1-4 s push at 90 %, 4-6 s memory at 50 %, 6-10 s pull at 96 %
        List<RunResult.WireSample> s = samples(t -> t < 1 ? 0 : t < 4 ? 0.90 : t < 6 ? 0.50 : 0.96);
        LinkFill f = LinkFill.of(s, RATE, new LinkFill.Span(0, 10), new LinkFill.Span(1, 4), new LinkFill.Span(6, 10));
        assertEquals((3 * 0.90 + 2 * 0.50 + 4 * 0.96) / 10, f.overall(), 1e-6);
        assertEquals(0.90, f.push(), 1e-6);
        assertEquals(0.96, f.pull(), 1e-6);
        assertEquals((3 * 0.90 + 4 * 0.96) / 7, f.diskPhase(), 1e-6);
        assertEquals("link fill 75 % (disk phase 93 %: push 90 %, pull 96 %)", f.describe());
    }

    @Test
    void boundariesBetweenSamplesAreInterpolated() {
        List<RunResult.WireSample> s = samples(t -> 0.8);
        // 1.1 s to 3.6 s lies between samples: interpolated, still 80 %
        LinkFill f = LinkFill.of(s, RATE, new LinkFill.Span(0, 9.9), null, new LinkFill.Span(1.1, 3.6));
        assertEquals(0.8, f.pull(), 1e-6);
        assertEquals(0.8, f.overall(), 1e-6);
        assertEquals(0.8 * FULL * 1.1, LinkFill.toDestinationAt(s, 1.1), 1);
    }

    @Test
    void aPhaseShorterThanASecondIsNotMeasured() {
        List<RunResult.WireSample> s = samples(t -> 0.9);
        LinkFill f = LinkFill.of(s, RATE, new LinkFill.Span(0, 10), new LinkFill.Span(1, 1.6), new LinkFill.Span(3, 8));
        assertTrue(Double.isNaN(f.push()), "a 0.6 s push is too short: " + f);
        assertEquals(0.9, f.pull(), 1e-6);
        assertEquals(0.9, f.diskPhase(), 1e-6, "only the pull counts in the disk phase");
        LinkFill none = LinkFill.of(s, RATE, new LinkFill.Span(0, 10), new LinkFill.Span(1, 1.6), null);
        assertTrue(Double.isNaN(none.diskPhase()), none.toString());
        assertEquals("link fill 90 % (disk phase -: push -, pull -)", none.describe());
    }

    @Test
    void anUnshapedLinkHasNoFill() {
        LinkFill f = LinkFill.of(samples(t -> 0.9), LinkProfile.UNSHAPED, 10_000, e -> Duration.ZERO, e -> Duration.ZERO);
        assertTrue(Double.isNaN(f.overall()) && Double.isNaN(f.diskPhase()), f.toString());
    }

    @Test
    void thePhasesComeFromTheTimelines() {
        Map<MigrationEvent, Duration> src = new EnumMap<>(MigrationEvent.class);
        Map<MigrationEvent, Duration> dst = new EnumMap<>(MigrationEvent.class);
        src.put(MigrationEvent.PUSH_STARTED, Duration.ofMillis(1000));
        src.put(MigrationEvent.MEMORY_STARTED, Duration.ofMillis(4000));
        dst.put(MigrationEvent.RUNNING_AT_DESTINATION, Duration.ofMillis(6000));
        dst.put(MigrationEvent.FINISHED, Duration.ofMillis(10000));
        List<RunResult.WireSample> s = samples(t -> t < 1 ? 0 : t < 4 ? 0.90 : t < 6 ? 0.50 : 0.96);
        LinkFill f = LinkFill.of(s, LinkProfile.MBIT_100_RTT_200, 10_000, src::get, dst::get);
        assertEquals(0.90, f.push(), 1e-6);
        assertEquals(0.96, f.pull(), 1e-6, "to FINISHED when DISK_COMPLETE is missing");
        dst.put(MigrationEvent.DISK_COMPLETE, Duration.ofMillis(8000));
        assertEquals(new LinkFill.Span(6, 8), LinkFill.pullPhase(dst::get));
        // post-copy: the memory migration starts right after the push thread: too short to count
        src.put(MigrationEvent.MEMORY_STARTED, Duration.ofMillis(1050));
        assertTrue(Double.isNaN(LinkFill.of(s, LinkProfile.MBIT_100_RTT_200, 10_000, src::get, dst::get).push()));
        // a mirror's copy: MIRROR_STARTED to MEMORY_STARTED; no memory migration: no push phase
        assertEquals(new LinkFill.Span(2, 5), LinkFill.pushPhase(Map.of(MigrationEvent.MIRROR_STARTED, Duration.ofSeconds(2),
                MigrationEvent.MEMORY_STARTED, Duration.ofSeconds(5))::get));
        assertNull(LinkFill.pushPhase(Map.<MigrationEvent, Duration>of()::get));
        assertNull(LinkFill.pullPhase(Map.of(MigrationEvent.FINISHED, Duration.ofSeconds(5))::get));
    }
}
