package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResultsTableTest {
    private static final BenchSizes SIZES = BenchSizes.defaults();
    private static final long MIB = 1 << 20;

    static RunResult run(BenchStrategy s, int repeat, long totalMs, long ram, long wire, double during) {
        return new RunResult(s, BenchWorkload.HEAVY, LinkProfile.MBIT_100, repeat, totalMs, totalMs - 100, totalMs - 500,
                totalMs - 600, 120, 300, wire, wire / 100, 32 * MIB, ram, 10 * MIB, during, 10 * MIB, 3, List.of(2000L, 5000L, 3000L), false,
                "VERIFY OK 8192 unwritten=0 writes=1 ioerrors=0",
                List.of(new RunResult.WireSample(0, 0), new RunResult.WireSample(totalMs / 1000.0, wire)),
                List.of(new GuestThroughput.Sample(-1, 10 * MIB), new GuestThroughput.Sample(1, during)), null);
    }

    static List<RunResult> runs() {
        List<RunResult> r = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            r.add(run(BenchStrategy.HYBRID, i, 9000 + i * 100, 70 * MIB, 100 * MIB, 8 * MIB));
            r.add(run(BenchStrategy.PRECOPY, i, 40000 + i * 1000, 80 * MIB, 400 * MIB, 4 * MIB));
        }
        r.add(RunResult.failed(BenchStrategy.MIRROR_BACKGROUND, BenchWorkload.HEAVY, LinkProfile.MBIT_100, 1, "did not converge"));
        return r;
    }

    @Test
    void mustCrossIsTheAreaPlusTheSmallestRamTransfer() {
        ResultsTable t = new ResultsTable(runs(), SIZES);
        assertEquals(SIZES.areaBytes() + 70 * MIB, t.mustCross(BenchWorkload.HEAVY, LinkProfile.MBIT_100));
        // 102 MiB at 100 Mbit/s, no RTT
        assertEquals(102 * MIB * 8 / 1e8, LinkProfile.MBIT_100.physicalLimitSeconds(102 * MIB), 1e-9);
        assertEquals(0.1 + 102 * MIB * 8 / 1e8, LinkProfile.MBIT_100_RTT_50.physicalLimitSeconds(102 * MIB), 1e-9);
        assertTrue(Double.isNaN(LinkProfile.UNSHAPED.physicalLimitSeconds(MIB)));
    }

    @Test
    void markdownHasMediansRangesFailuresAndTheLimitRatio() {
        String md = new ResultsTable(runs(), SIZES).markdown();
        assertTrue(md.contains("| heavy | 100mbit | hybrid | 3/3 | 9.20 (9.10-9.30) |"), md);
        assertTrue(md.contains("| heavy | 100mbit | precopy | 3/3 | 42.00 (41.00-43.00) |"), md);
        assertTrue(md.contains("| heavy | 100mbit | mirror-bg | 0/1 | - |"), md);
        assertTrue(md.contains("mirror-bg #1: did not converge"), md);
        double limit = (SIZES.areaBytes() + 70 * MIB) * 8 / 1e8;
        assertTrue(md.contains(String.format("| %.2f | %.2f (%.2f-%.2f) | 3/3 |", limit, 9.2 / limit, 9.1 / limit, 9.3 / limit)), md);
        // pulls of 2, 5 and 3 ms in every run: median 3.0, max 5.0
        assertTrue(md.contains("| 3 | 3.0 | 5.0 | "), md);
    }

    @Test
    void hybridRatiosAreMediansOverMedians() {
        String r = new ResultsTable(runs(), SIZES).hybridRatios(BenchWorkload.HEAVY, LinkProfile.MBIT_100);
        assertTrue(r.contains(String.format("| precopy | %.2f | %.2f | %.2f |", 9.2 / 42.0, 100.0 / 400.0, 2.0)), r);
        assertTrue(r.contains("| mirror-bg | no successful run (did not converge) | - | - |"), "no successful mirror run, no ratio: " + r);
    }

    @Test
    void csvHasAHeaderAndOneQuotedRowPerRun() {
        String csv = new ResultsTable(runs(), SIZES).csv();
        List<String> lines = csv.lines().toList();
        assertEquals(8, lines.size());
        assertTrue(lines.get(0).startsWith("workload,link,rate_bps,rtt_ms,strategy,repeat,ok,total_ms"));
        assertTrue(lines.get(1).startsWith("heavy,100mbit,100000000,0,hybrid,1,true,9100,9000,8600,8500,"), lines.get(1));
        assertTrue(lines.get(7).endsWith(",\"\",\"did not converge\""), lines.get(7));
        int columns = lines.get(0).split(",").length;
        assertEquals(columns, lines.get(1).split(",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)").length);
        assertTrue(lines.get(1).contains(",3,3.000,5.000,false,"), lines.get(1));
    }
}
