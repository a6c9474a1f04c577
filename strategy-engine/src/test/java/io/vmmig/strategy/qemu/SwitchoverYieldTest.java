package io.vmmig.strategy.qemu;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SwitchoverYieldTest {
    private static final long MIB = 1 << 20;
    /** Memory's share of a 100 Mbit/s link beside the push: about 6 MB/s. */
    private static final double HALF_LINK = 6e6;

    @Test
    void holdsOnceThePassEndsSoonerThanThePushInFlightDrains() {
        // 8 MiB of push in flight drain in 1.4 s at 6 MB/s: + 1 s margin = 2.4 s
        assertFalse(SwitchoverYield.shouldHold(20 * MIB, HALF_LINK, 8 * MIB));   // 3.5 s to go
        assertTrue(SwitchoverYield.shouldHold(13 * MIB, HALF_LINK, 8 * MIB));    // 2.27 s to go
    }

    @Test
    void withNothingInFlightOnlyTheMarginCounts() {
        assertTrue(SwitchoverYield.shouldHold(5 * MIB, HALF_LINK, 0));           // 0.87 s to go
        assertFalse(SwitchoverYield.shouldHold(7 * MIB, HALF_LINK, 0));          // 1.22 s to go
    }

    @Test
    void aFastLinkHoldsOnlyAtTheVeryEnd() {
        // unshaped: memory at 150 MB/s, 16 MiB in flight drain in 0.11 s: holds in the last 1.1 s of the pass
        assertFalse(SwitchoverYield.shouldHold(256 * MIB, 150e6, 16 * MIB));     // 1.79 s to go
        assertTrue(SwitchoverYield.shouldHold(128 * MIB, 150e6, 16 * MIB));      // 0.89 s to go
    }

    @Test
    void noRateOrNothingLeftHoldsNothing() {
        assertFalse(SwitchoverYield.shouldHold(64 * MIB, 0, 8 * MIB));           // QEMU has measured no rate yet
        assertFalse(SwitchoverYield.shouldHold(0, HALF_LINK, 8 * MIB));
    }
}
