package io.vmmig.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vmmig.testkit.Workload.Phase;
import org.junit.jupiter.api.Test;

class WorkloadTest {
    @Test
    void kernelArgsCarryEveryParameter() {
        Workload w = Workload.defaults().withBlocks(1000).withPhases(Phase.PREFILL, Phase.RANDOM).withHotSet(10, 20)
                .withRate(0).withVerifyAfter(7).withHeartbeatMs(25).withSeed(42);
        assertEquals("vmmig.blocks=1000 vmmig.bs=4096 vmmig.mode=prefill,random vmmig.hot=20 vmmig.hot_first=10"
                + " vmmig.rate=0 vmmig.verify_after=7 vmmig.hb_ms=25 vmmig.seed=42", w.kernelArgs());
        assertEquals(1000L * 4096, w.areaBytes());
        assertEquals(w.kernelArgs() + " vmmig.marker=VMMIG-MARKER-1f", w.withMarker("VMMIG-MARKER-1f").kernelArgs());
    }

    @Test
    void anAreaPastTheDiskStartNamesItsFirstBlockAndNeedsTheDiskUpToItsEnd() {
        Workload w = Workload.defaults().withBlocks(1000).withFirstBlock(524288);
        assertEquals(Workload.defaults().withBlocks(1000).kernelArgs() + " vmmig.first=524288", w.kernelArgs());
        assertEquals(1000L * 4096, w.areaBytes());
        assertEquals((524288L + 1000) * 4096, w.diskBytesNeeded());
        assertThrows(IllegalArgumentException.class, () -> Workload.defaults().withFirstBlock(-1));
    }

    @Test
    void shrinkingTheAreaKeepsTheHotSetInside() {
        Workload w = Workload.defaults().withHotSet(100, 64).withBlocks(32);
        assertEquals(32, w.hotBlocks());
        assertEquals(0, w.hotFirst());
    }

    @Test
    void rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> Workload.defaults().withBlockSize(1000));
        assertThrows(IllegalArgumentException.class, () -> Workload.defaults().withHotSet(4090, 64));
        assertThrows(IllegalArgumentException.class, () -> Workload.defaults().withPhases());
        assertThrows(IllegalArgumentException.class, () -> Workload.defaults().withHeartbeatMs(0));
        assertThrows(IllegalArgumentException.class, () -> Workload.defaults().withMarker("two words"));
        assertThrows(IllegalArgumentException.class, () -> Workload.defaults().withMarker("x".repeat(33)));
    }
}
