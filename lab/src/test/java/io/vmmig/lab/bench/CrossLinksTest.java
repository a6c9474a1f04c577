package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class CrossLinksTest {
    @Test
    void delayLineHoldsTwiceTheBytesInFlightAndAtLeast256KiB() {
        assertEquals(256 << 10, CrossLinks.delayLineBytes(0, Duration.ZERO));
        assertEquals(256 << 10, CrossLinks.delayLineBytes(100_000_000, Duration.ZERO));
        // 12.5 MB/s x 25 ms = 312.5 kB in flight
        assertEquals(625_000, CrossLinks.delayLineBytes(100_000_000, Duration.ofMillis(25)));
    }
}
