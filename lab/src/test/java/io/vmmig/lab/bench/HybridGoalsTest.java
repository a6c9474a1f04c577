package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HybridGoalsTest {
    private static final BenchSizes SIZES = BenchSizes.defaults();
    private static final long MIB = 1 << 20;

    private static String goals(List<RunResult> runs) {
        return new HybridGoals(new ResultsTable(runs, SIZES), SIZES).markdown(BenchWorkload.HEAVY, LinkProfile.MBIT_100);
    }

    @Test
    void eachGoalIsJudgedFromTheMedians() {
        // hybrid 9.2 s vs pre-copy 42 s: 0.22 <= 1/3; wire 101 MiB vs 1.1 x (area + 70 MiB);
        // during 8 MiB/s of 10 before = 80 % < 90 %; both downtimes 120 ms; mirror-bg never finished
        String md = goals(ResultsTableTest.runs());
        assertTrue(md.contains(String.format("| total time <= 1/3 of pre-copy's | hybrid 9.20 s / pre-copy 42.00 s = %.2f | met |",
                9.2 / 42)), md);
        assertTrue(md.contains("| total time below mirror-bg's | hybrid 9.20 s; mirror-bg never finished (did not converge within "
                + BenchRun.MIRROR_LIMIT.toSeconds() + " s) | met |"), md);
        assertTrue(md.contains("| total time below mirror-wb's | not run | not measured |"), md);
        // wire = 100 MiB to the destination + 1 MiB back
        boolean bytesMet = 101 * MIB <= 1.1 * (SIZES.areaBytes() + 70 * MIB);
        assertTrue(md.contains("| bytes on the wire <= 1.1 x (unique data written + RAM) | 101.0 MiB / ("
                + SIZES.areaMib() + " MiB area + 70.0 MiB RAM) = " + String.format("%.2f", 101.0 / (SIZES.areaMib() + 70))
                + " | " + (bytesMet ? "met" : "NOT met") + " |"), md);
        assertTrue(md.contains("during/before 80 % | NOT met |"), md);
        assertTrue(md.contains("| downtime within one RTT (0 ms) of pre-copy's | QEMU: hybrid 120 ms, pre-copy 120 ms; "
                + "guest-visible: hybrid 300 ms, pre-copy 300 ms | met |"), md);
    }

    @Test
    void aFasterMirrorIsNotMetAndNoHybridMeansNothingIsMet() {
        List<RunResult> runs = new ArrayList<>(ResultsTableTest.runs());
        runs.add(ResultsTableTest.run(BenchStrategy.MIRROR_WRITE_BLOCKING, 1, 8000, 70 * MIB, 90 * MIB, MIB));
        assertTrue(goals(runs).contains("| total time below mirror-wb's | hybrid 9.20 s / mirror-wb 8.00 s = 1.15 | NOT met |"),
                goals(runs));
        runs.removeIf(r -> r.strategy() == BenchStrategy.HYBRID);
        assertTrue(goals(runs).contains("| all | no successful hybrid run | NOT met |"), goals(runs));
    }
}
