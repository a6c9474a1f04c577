package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HostCpuTest {
    @Test
    void idleAndIowaitAreNotBusyAndGuestTimeIsNotCountedTwice() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        HostCpu a = HostCpu.parse("cpu  100 0 50 800 50 0 0 0 40 0");
        assertEquals(150, a.busy());
        assertEquals(1000, a.total());
    }

    @Test
    void coresBusyBetweenTwoReadings() {
        HostCpu a = HostCpu.parse("cpu  100 0 50 800 50 0 0 0 0 0");
        // 200 more jiffies: 150 busy, 50 idle -> 75 % of 2 cores
        HostCpu b = HostCpu.parse("cpu  200 0 100 850 50 0 0 0 0 0");
        assertEquals(1.5, b.coresBusySince(a, 2), 1e-9);
        assertTrue(Double.isNaN(a.coresBusySince(a, 2)));
    }

    @Test
    void onlyTheAggregateLineIsAccepted() {
        assertThrows(IllegalArgumentException.class, () -> HostCpu.parse("cpu0 1 2 3 4 5 6 7 8"));
    }

    @Test
    void thisHostCanBeRead() {
        assertTrue(HostCpu.now().total() > 0, "/proc/stat read");
    }
}
