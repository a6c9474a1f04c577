package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.SourceReport;
import java.util.List;
import org.junit.jupiter.api.Test;

class DedupTableTest {
    private static final long MIB = 1 << 20;

    private static DedupBench.Run run(DedupCell cell, long totalMs, long chunkWire, long fingerprints, long dedup, String imageCheck) {
        RunResult r = ResultsTableTest.run(BenchStrategy.HYBRID, 1, totalMs, 96 * MIB, chunkWire + 100 * MIB, 0);
        SourceReport s = new SourceReport(chunkWire + dedup, chunkWire, 10, 1, 0, 0, 0, 0, 10, false, 0, null, dedup, 100, fingerprints);
        MigrationReport m = new MigrationReport("bench", Strategy.HYBRID, null, totalMs, 0, totalMs - 100, 50, 10, 96 * MIB, s, null,
                List.of(), -1);
        return new DedupBench.Run(cell, new BenchRun.Outcome(r, m, imageCheck), "1.0");
    }

    @Test
    void eachCellIsReadAgainstItsOffRunAndTheGoalsFollow() {
        DedupTable t = new DedupTable(List.of(
                run(DedupCell.OFF, 40_000, 340 * MIB, 0, 0, "Images are identical."),
                run(DedupCell.NO_NEIGHBOUR, 40_400, 340 * MIB, 4 * MIB, 0, "Images are identical."),
                run(DedupCell.NEIGHBOUR, 16_000, 100 * MIB, 2 * MIB, 240 * MIB, "Images are identical.")));
        String md = t.markdown();
        // neighbour: (100 + 2) / 340 = 30.0 %; no neighbour: 344 / 340 = 101.2 % and 1 % slower: within the 1 % floor of the noise
        assertTrue(md.contains("disk bytes on the wire 30.0 % of off (70.0 % fewer; goal >= 60 % fewer: **met**)"), md);
        assertTrue(md.contains("no neighbour: disk bytes 101.2 % of off (goal <= 101 %: **not met**), total time 101.0 % of off (goal no slower,"
                + " within the off runs' own spread of 0.0 %: **met**)"), md);
        assertEquals(4, t.csv().lines().count());
    }

    @Test
    void aNoNeighbourRunSlowerThanTheOffRunsSpreadIsNotMet() {
        DedupTable t = new DedupTable(List.of(
                run(DedupCell.OFF, 40_000, 340 * MIB, 0, 0, "Images are identical."),
                run(DedupCell.NO_NEIGHBOUR, 41_000, 340 * MIB, 1 * MIB, 0, "Images are identical.")));
        assertTrue(t.goals().contains("total time 102.5 % of off (goal no slower, within the off runs' own spread of 0.0 %: **not met**)"), t.goals());
    }

    @Test
    void aRunWhoseImagesDifferCountsNowhere() {
        DedupBench.Run bad = run(DedupCell.NEIGHBOUR, 16_000, 100 * MIB, 2 * MIB, 240 * MIB, "Content mismatch at offset 1048576!");
        DedupTable t = new DedupTable(List.of(run(DedupCell.OFF, 40_000, 340 * MIB, 0, 0, "Images are identical."), bad));
        assertTrue(!bad.outcome().intact());
        assertTrue(t.goals().contains("neighbour indexed: disk bytes on the wire - of off (- fewer; goal >= 60 % fewer: no valid runs)"), t.goals());
        assertTrue(t.markdown().contains("Content mismatch at offset 1048576!"));
    }
}
