package io.vmmig.strategy.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DowntimeLadderTest {

    @Test
    void startsAt50MsOrTheConfiguredLimitIfLower() {
        assertEquals(50, DowntimeLadder.first(300));
        assertEquals(20, DowntimeLadder.first(20));
    }

    @Test
    void doublesUpToTheConfiguredLimit() {
        assertEquals(100, DowntimeLadder.next(50, 300));
        assertEquals(200, DowntimeLadder.next(100, 300));
        assertEquals(300, DowntimeLadder.next(200, 300));
        assertEquals(300, DowntimeLadder.next(300, 300));
    }

    @Test
    void raisesAfterThreeSyncsWithoutASwitchover() {
        assertFalse(DowntimeLadder.shouldRaise(-1, 10), "no baseline yet");
        assertFalse(DowntimeLadder.shouldRaise(2, 4));
        assertTrue(DowntimeLadder.shouldRaise(2, 5));
        assertTrue(DowntimeLadder.shouldRaise(2, 9));
    }
}
