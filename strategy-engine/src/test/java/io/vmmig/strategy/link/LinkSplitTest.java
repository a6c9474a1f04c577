package io.vmmig.strategy.link;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class LinkSplitTest {
    private static final long B = 10_000_000;

    @Test
    void beforeMemoryStartsThePushTakesTheWholeBudget() {
        LinkSplit s = LinkSplit.of(B, 9_000_000, 0, false, 0);
        assertEquals(B, s.diskBytesPerSecond());
    }

    @Test
    void bothBusyGetHalfEachAndStayAtTheBudget() {
        LinkSplit s = LinkSplit.of(B, B / 2, B / 2, true, 0);
        assertEquals(B / 2, s.diskBytesPerSecond());
        assertEquals(B / 2, s.memoryBytesPerSecond());
        // starting even, both greedy: the sum never exceeds the budget from one interval to the next
        LinkSplit e = LinkSplit.even(B, 0);
        assertEquals(B, e.diskBytesPerSecond() + e.memoryBytesPerSecond());
        for (int i = 0; i < 10; i++) {
            e = LinkSplit.of(B, e.diskBytesPerSecond(), e.memoryBytesPerSecond(), true, 0);
            assertTrue(e.diskBytesPerSecond() + e.memoryBytesPerSecond() <= B, e.toString());
        }
    }

    @Test
    void whatOneLeavesUnusedTheOtherTakes() {
        LinkSplit idleDisk = LinkSplit.of(B, 1_000_000, 3_000_000, true, 0);
        assertEquals(9_000_000, idleDisk.memoryBytesPerSecond());
        assertEquals(7_000_000, idleDisk.diskBytesPerSecond());
        LinkSplit idleMemory = LinkSplit.of(B, 6_000_000, 0, true, 0);
        assertEquals(B, idleMemory.diskBytesPerSecond());
        assertEquals(B / 2, idleMemory.memoryBytesPerSecond());   // never below its half
    }

    @Test
    void theUsersMemoryCapHolds() {
        assertEquals(2_000_000, LinkSplit.of(B, 0, 0, true, 2_000_000).memoryBytesPerSecond());
        LinkSplit e = LinkSplit.even(B, 2_000_000);
        assertEquals(2_000_000, e.memoryBytesPerSecond());
        assertEquals(8_000_000, e.diskBytesPerSecond());
    }

    @Test
    void noBudgetIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> LinkSplit.of(0, 0, 0, true, 0));
    }
}
