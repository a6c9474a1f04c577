package io.vmmig.strategy.link;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class LinkBudgetTest {
    @Test
    void membersShareTheBudgetEquallyAndTakeItBackWhenOneLeaves() {
        LinkBudget link = new LinkBudget(12_000_000);
        LinkBudget.Share a = link.join(0, true);
        assertEquals(12_000_000, a.bytesPerSecond());
        LinkBudget.Share b = link.join(0, true);
        LinkBudget.Share c = link.join(0, true);
        assertEquals(4_000_000, a.bytesPerSecond());
        assertEquals(4_000_000, b.bytesPerSecond());
        assertEquals(4_000_000, c.bytesPerSecond());
        b.close();
        assertEquals(6_000_000, a.bytesPerSecond());
        assertEquals(6_000_000, c.bytesPerSecond());
        assertEquals(2, link.members());
    }

    @Test
    void aMemberCappedBelowItsPartLeavesTheRestToTheOthers() {
        LinkBudget link = new LinkBudget(12_000_000);
        LinkBudget.Share slow = link.join(1_000_000, true);    // its own --bandwidth
        LinkBudget.Share a = link.join(0, true);
        LinkBudget.Share b = link.join(20_000_000, true);      // capped above its part: the part
        assertEquals(1_000_000, slow.bytesPerSecond());
        assertEquals(5_500_000, a.bytesPerSecond());
        assertEquals(5_500_000, b.bytesPerSecond());
        long sum = slow.bytesPerSecond() + a.bytesPerSecond() + b.bytesPerSecond();
        assertTrue(sum <= 12_000_000, "sum " + sum);
    }

    @Test
    void capsThatCascadeAreFilledInTurn() {
        LinkBudget link = new LinkBudget(10_000_000);
        LinkBudget.Share x = link.join(3_000_000, true);   // above 10/3 at first? no: 3.0 < 3.33, taken
        LinkBudget.Share y = link.join(3_400_000, true);   // 3.4 < (10-3)/2 = 3.5, taken
        LinkBudget.Share z = link.join(0, true);
        assertEquals(3_000_000, x.bytesPerSecond());
        assertEquals(3_400_000, y.bytesPerSecond());
        assertEquals(3_600_000, z.bytesPerSecond());
    }

    @Test
    void anUnlimitedBudgetGivesEachItsOwnCap() {
        LinkBudget link = new LinkBudget(0);
        assertTrue(link.unlimited());
        assertEquals(0, link.join(0, true).bytesPerSecond());
        assertEquals(5_000, link.join(5_000, true).bytesPerSecond());
        assertEquals(7_000, LinkBudget.alone(7_000).bytesPerSecond());
    }

    @Test
    void badValuesAreRefusedWithTheirName() {
        var e = assertThrows(IllegalArgumentException.class, () -> new LinkBudget(-1));
        assertTrue(e.getMessage().contains("link budget"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LinkBudget(1).join(-5, true));
    }
}
