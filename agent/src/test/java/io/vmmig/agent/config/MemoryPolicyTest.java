package io.vmmig.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.strategy.qemu.MemorySettings;
import org.junit.jupiter.api.Test;

/** How the agent's {@code memory.*} and a request's options become QEMU's memory migration settings. */
class MemoryPolicyTest {
    private static final long UNLIMITED = MemorySettings.UNLIMITED;

    @Test
    void nothingSaidIsUnlimitedAt300MsWithoutThrottling() {
        MemorySettings s = MemoryPolicy.defaults().settingsFor(null, null, null, null);
        assertEquals(new MemorySettings(UNLIMITED, 300, false), s);
        assertTrue(s.unlimited());
        assertTrue(s.maxBandwidth() > 128L << 20, "above QEMU's own 128 MiB/s cap");
    }

    @Test
    void theLinkBudgetCapsMemoryToo() {
        assertEquals(12_500_000L, MemoryPolicy.defaults().settingsFor(12_500_000L, null, null, null).maxBandwidth());
        // and beats the agent's configured cap: the operator said this migration's budget
        assertEquals(12_500_000L, new MemoryPolicy(1L << 30, 300, false).settingsFor(12_500_000L, null, null, null).maxBandwidth());
    }

    @Test
    void memoryBandwidthBeatsTheLinkBudget() {
        assertEquals(50_000_000L, MemoryPolicy.defaults().settingsFor(12_500_000L, 50_000_000L, null, null).maxBandwidth());
        assertEquals(UNLIMITED, MemoryPolicy.defaults().settingsFor(12_500_000L, UNLIMITED, null, null).maxBandwidth());
    }

    @Test
    void theAgentsCapWhenTheRequestSaysNothing() {
        MemoryPolicy p = new MemoryPolicy(1L << 30, 120, true);
        assertEquals(new MemorySettings(1L << 30, 120, true), p.settingsFor(null, null, null, null));
    }

    @Test
    void theRequestsDowntimeAndAutoConvergeBeatTheAgents() {
        MemoryPolicy p = new MemoryPolicy(null, 120, true);
        assertEquals(new MemorySettings(UNLIMITED, 50, false), p.settingsFor(null, null, 50L, false));
        assertEquals(new MemorySettings(UNLIMITED, 120, true), p.settingsFor(null, null, null, null));
        assertEquals(new MemorySettings(UNLIMITED, 300, true), MemoryPolicy.defaults().settingsFor(null, null, null, true));
    }

    @Test
    void outOfRangeValuesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> MemoryPolicy.defaults().settingsFor(null, null, 0L, null));
        assertThrows(IllegalArgumentException.class, () -> MemoryPolicy.defaults().settingsFor(null, null, 2_000_001L, null));
        assertThrows(IllegalArgumentException.class, () -> MemoryPolicy.defaults().settingsFor(null, 0L, null, null));
        assertThrows(IllegalArgumentException.class, () -> new MemoryPolicy(0L, 300, false));
    }
}
