package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResultsTableTest {
    private static final BenchSizes SIZES = BenchSizes.defaults();
    private static final long MIB = 1 << 20;

    static RunResult run(BenchStrategy s, int repeat, long totalMs, long ram, long wire, double during) {
        return run(s, LinkProfile.MBIT_100, repeat, totalMs, ram, wire, during);
    }

    /** A run with QEMU downtime 120 ms, guest pause 300 ms and link fill 80 % overall, 95 % in the pull phase. */
    static RunResult run(BenchStrategy s, LinkProfile link, int repeat, long totalMs, long ram, long wire, double during) {
        return new RunResult(s, BenchWorkload.HEAVY, link, repeat, totalMs, totalMs - 100, totalMs - 500,
                totalMs - 600, 120, 300, wire, wire / 100, 32 * MIB, ram, 10 * MIB, during, 10 * MIB, 3, List.of(2000L, 5000L, 3000L), false,
                "VERIFY OK 8192 unwritten=0 writes=1 ioerrors=0",
                List.of(new RunResult.WireSample(0, 0, 0), new RunResult.WireSample(totalMs / 1000.0, wire, wire / 100)),
                new LinkFill(0.80, Double.NaN, 0.95, 0.95),
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
    void aRunWhoseGuestFailedVerifyIsMarkedAndExcludedFromTheFigures() {
        List<RunResult> r = runs();
        RunResult good = run(BenchStrategy.PRECOPY, 4, 1000, 80 * MIB, 400 * MIB, 4 * MIB);
        RunResult corrupted = new RunResult(good.strategy(), good.workload(), good.link(), 4, 1000, 900, 500, 400, 120, 300,
                400 * MIB, 4 * MIB, 32 * MIB, 80 * MIB, 10 * MIB, 4 * MIB, 10 * MIB, 3, List.of(2000L), false,
                "VERIFY FAIL block=17 expected=3 found=read-error", good.wire(), good.linkFill(), good.guest(), null);
        r.add(corrupted);
        assertTrue(corrupted.corrupted());
        assertFalse(corrupted.ok());
        String md = new ResultsTable(r, SIZES).markdown();
        // the 1 s run does not pull the median down: still 42.00 over the three intact runs
        assertTrue(md.contains("| heavy | 100mbit | precopy | 3/4 | 42.00 (41.00-43.00) |"), md);
        assertTrue(md.contains("precopy #4: guest integrity check failed, run excluded: VERIFY FAIL block=17"), md);
    }

    @Test
    void hybridRatiosAreMediansOverMedians() {
        String r = new ResultsTable(runs(), SIZES).hybridRatios(BenchWorkload.HEAVY, LinkProfile.MBIT_100);
        assertTrue(r.contains(String.format("| precopy | %.2f | %.2f | %.2f |", 9.2 / 42.0, 100.0 / 400.0, 2.0)), r);
        assertTrue(r.contains("| mirror-bg | no successful run (did not converge) | - | - |"), "no successful mirror run, no ratio: " + r);
    }

    @Test
    void markdownShowsTheLinkFillAndThePauseBeyondQemusDowntimeBesideOneRtt() {
        List<RunResult> r = runs();
        for (int i = 1; i <= 2; i++) r.add(run(BenchStrategy.POSTCOPY, LinkProfile.MBIT_100_RTT_200, i, 20000, 70 * MIB, 100 * MIB, 8 * MIB));
        String md = new ResultsTable(r, SIZES).markdown();
        assertTrue(md.contains("| guest pause ms | guest pause - QEMU downtime ms | 1 RTT ms | wire MiB (to dst + to src) "
                + "| link fill (overall / disk phase) % |"), md);
        // pause 300 ms - downtime 120 ms = 180 ms, beside the link's RTT (200 ms); none without RTT
        assertTrue(md.contains("| heavy | 100mbit-200ms | postcopy | 2/2 | 20.00 | 19.90 | 120 | 300 | 180 | 200 | "), md);
        assertTrue(md.contains("| heavy | 100mbit | hybrid | 3/3 | 9.20 (9.10-9.30) | 9.10 (9.00-9.20) | 120 | 300 | 180 | - | "), md);
        assertTrue(md.contains(") | 80 / 95 | "), md);
        long columns = md.lines().findFirst().orElseThrow().chars().filter(c -> c == '|').count();
        md.lines().filter(l -> l.startsWith("| heavy")).forEach(l -> assertEquals(columns, l.chars().filter(c -> c == '|').count(), l));
        assertEquals(columns, md.lines().skip(1).findFirst().orElseThrow().chars().filter(c -> c == '|').count());
    }

    @Test
    void aRunWithoutFillOrPauseShowsDashes() {
        String md = new ResultsTable(List.of(RunResult.failed(BenchStrategy.HYBRID, BenchWorkload.HEAVY, LinkProfile.MBIT_100_RTT_200, 1,
                "boom")), SIZES).markdown();
        assertTrue(md.contains("| heavy | 100mbit-200ms | hybrid | 0/1 | - | - | - | - | - | 200 | - (- + -) | - / - | "), md);
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
        assertTrue(lines.get(0).contains(",guest_pause_ms,pause_minus_downtime_ms,wire_to_dst_bytes,wire_to_src_bytes,"
                + "link_fill_overall_pct,link_fill_push_pct,link_fill_pull_pct,link_fill_disk_phase_pct,disk_bytes,"), lines.get(0));
        assertTrue(lines.get(1).contains(",120,300,180.000," + 100 * MIB + "," + MIB + ",80.0,,95.0,95.0," + 32 * MIB + ","), lines.get(1));
    }
}
