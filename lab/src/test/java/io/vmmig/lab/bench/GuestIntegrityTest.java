package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class GuestIntegrityTest {
    @Test
    void aKernelFaultOnTheConsoleOverridesAVerifyOk() {
        List<String> console = List.of("TPUT 1.2", "[   41.2] virtio_blk virtio0: req.0:id 0 is not a head!", "VERIFY OK checked=2048");
        String v = GuestIntegrity.verdict("VERIFY OK checked=2048", console);
        assertTrue(v.startsWith("GUEST FAULT: [   41.2] virtio_blk virtio0: req.0:id 0 is not a head!"), v);
        assertTrue(GuestIntegrity.diagnosis(v).contains("kernel faulted"), GuestIntegrity.diagnosis(v));
        assertEquals("VERIFY OK checked=2048", GuestIntegrity.verdict("VERIFY OK checked=2048", List.of("TPUT 1.2", "VERIFY OK checked=2048")));
    }

    @Test
    void aDiskAheadOfTheGuestsRamPointsAtQemusMemoryMigrationAndBehindAtTheDiskPath() {
        assertTrue(GuestIntegrity.diagnosis("VERIFY FAIL block=2248 expected-gen=16 found=gen-17 failures=13").contains("stale guest RAM"));
        assertTrue(GuestIntegrity.diagnosis("VERIFY FAIL block=7 expected-gen=16 found=gen-15 failures=1").contains("the disk path's"));
        assertTrue(GuestIntegrity.diagnosis("VERIFY FAIL block=0 expected-gen=3 found=read-error:5").contains("the disk path's"));
    }

    @Test
    void anExcludedRunSaysWhereItsFailurePoints() {
        RunResult good = ResultsTableTest.run(BenchStrategy.PRECOPY, 1, 1000, 1, 1, 1);
        RunResult stale = new RunResult(good.strategy(), good.workload(), good.link(), 2, 1000, 900, 500, 400, 120, 300, 1, 1, 1, 1, 1, 1, 1,
                0, List.of(), false, "VERIFY FAIL block=2248 expected-gen=16 found=gen-17 failures=13", good.wire(), good.linkFill(), good.guest(), null);
        assertTrue(stale.corrupted());
        assertTrue(stale.failure().endsWith("(disk ahead of the guest's RAM: stale guest RAM from QEMU's memory migration, not the disk path)"),
                stale.failure());
    }
}
