package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class PeerTableTest {
    private static final long MIB = 1 << 20;

    static PeerResult run(PeerSystem s, int repeat, long totalMs, long downtime, long wire, long ram, String verify) {
        return new PeerResult(s, LinkProfile.MBIT_100, repeat, totalMs, totalMs + 2000, 400, 700, downtime, downtime + 200, wire, wire / 100, ram,
                3.5 * MIB, 3.4 * MIB, 3.5 * MIB, 3.2 * MIB, 4.2, verify, "1.50", List.of(), List.of(), null);
    }

    private static final String OK = "VERIFY OK 2048 unwritten=0 writes=10 ioerrors=0";

    @Test
    void invalidRunsAreListedAndLeftOutOfTheFigures() {
        List<PeerResult> runs = List.of(
                run(PeerSystem.LIBVIRT, 1, 76000, 400, 880 * MIB, 300 * MIB, OK),
                run(PeerSystem.VMMIG_QEMU, 1, 60000, 500, 700 * MIB, 260 * MIB, OK),
                run(PeerSystem.VMMIG_QEMU, 2, 1000, 1, 1 * MIB, 1 * MIB, "VERIFY FAIL block=3 expected-gen=2 found=gen-1"),
                run(PeerSystem.VMMIG_LIBVIRT, 1, 62000, 450, 710 * MIB, 270 * MIB, "GUEST FAULT: Kernel panic (then " + OK + ")"));
        PeerTable t = new PeerTable(runs, ScaleScenario.REAL);
        PeerTable started = new PeerTable(List.of(run(PeerSystem.VMMIG_LIBVIRT, 1, 62000, 450, 710 * MIB, 270 * MIB, OK)), ScaleScenario.REAL);
        assertTrue(started.markdown().contains("| 100mbit | vmmig-libvirt | 1/1 | 62.00 | 64.00 | 0.40 / 0.70 | 450 |"), started.markdown());
        assertTrue(started.markdown().contains("| 3.50 | 3.40 | 3.50 | 3.20 | 4.2 |"), started.markdown());
        String md = t.markdown();
        assertTrue(md.contains("| 100mbit | vmmig-qemu | 1/2 | 60.00 | 62.00 | - | 500 | 700 |"), md);
        assertTrue(md.contains("| 100mbit | vmmig-libvirt | 0/1 | - |"), md);
        assertTrue(md.contains("- 100mbit / vmmig-qemu #2: INVALID RUN (guest integrity): VERIFY FAIL"), md);
        assertTrue(md.contains("- 100mbit / vmmig-libvirt #1: INVALID RUN (guest integrity): GUEST FAULT"), md);
        // the limit counts the written area and the smallest RAM of a valid run: 512 + 260 MiB
        assertEquals((512 + 260) * MIB, t.mustCross(LinkProfile.MBIT_100));
        String ratios = t.ratios();
        assertTrue(ratios.contains("| 100mbit | vmmig-qemu | 0.79 | 0.80 | 1.25 | 1.17 | 0.00 |") || ratios.contains("| 100mbit | vmmig-qemu | 0.79 | 0.80 | 1.25 | 1.17 |"), ratios);
        assertTrue(ratios.contains("| 100mbit | vmmig-libvirt | - | - | - | - | - |"), ratios);
        String csv = t.csv();
        assertTrue(csv.lines().skip(1).findFirst().orElseThrow().contains(",78000,400,700,400,"), csv);
        assertEquals(5, csv.lines().count(), csv);
        assertTrue(csv.lines().skip(3).findFirst().orElseThrow().startsWith("100mbit,100000000,vmmig-qemu,2,false,"), csv);
    }

    @Test
    void theRealScenarioIsTheIssuesGuest() {
        ScaleScenario r = ScaleScenario.REAL;
        var w = r.workload();
        assertEquals(512L << 20, w.areaBytes());
        assertEquals(256L << 20, w.hotBlocks() * w.blockSize());
        assertEquals(3.5, r.writeMibPerSecond(), 1e-9);
        assertEquals(256, r.ramMib());
        assertEquals(2048, r.diskMib());
        assertTrue(w.kernelArgs().contains("vmmig.mode=prefill,hot"), w.kernelArgs());
        // the guest's verify reads 256 blocks into one buffer: it must fit well inside guest RAM
        assertTrue(256L * w.blockSize() <= (r.ramMib() << 20) / 4);
        assertTrue(256L * ScaleScenario.SMALL.blockBytes() <= (ScaleScenario.SMALL.ramMib() << 20) / 4);
    }

    @Test
    void cpuSecondsOfThisProcessAreReadFromProc() {
        double before = ProcessCpu.seconds(ProcessHandle.current().pid());
        long x = 0;
        for (long i = 0; i < 300_000_000L; i++) x += i ^ (x >>> 3);
        assertTrue(x != 42);
        double after = ProcessCpu.seconds(ProcessHandle.current().pid());
        assertFalse(Double.isNaN(before));
        assertTrue(after > before, before + " -> " + after);
        assertTrue(Double.isNaN(ProcessCpu.seconds(Long.MAX_VALUE)));
    }
}
