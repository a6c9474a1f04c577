package io.vmmig.strategy.source;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class PushBandwidthTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void unlimitedNeverWaits() {
        PushBandwidth b = new PushBandwidth(0);
        for (int i = 0; i < 1000; i++) assertEquals(0, b.tryTake(1 << 20, 0));
    }

    @Test
    void longRunRateIsTheLimit() {
        PushBandwidth b = new PushBandwidth(1_000_000);       // 1 MB/s
        long now = 0;
        long sent = 0;
        while (now < 10 * SECOND) {
            long wait = b.tryTake(100_000, now);
            if (wait == 0) sent += 100_000;
            else now += wait;
        }
        // 10 s at 1 MB/s, plus at most one send of debt at the start
        assertTrue(sent >= 10_000_000 && sent <= 10_100_000, "sent " + sent);
    }

    @Test
    void twoDisksSharingOneBucketTogetherKeepTheLimit() {
        // a libvirt domain's disks each have a transfer of their own; one bucket is the VM's link budget
        PushBandwidth link = new PushBandwidth(1_000_000);
        long[] now = {0, 0};
        long[] sent = {0, 0};
        while (Math.min(now[0], now[1]) < 10 * SECOND) {
            // the earlier one asks; at a tie the one that has sent less (two threads racing for the bucket)
            int d = now[0] != now[1] ? (now[0] < now[1] ? 0 : 1) : (sent[0] <= sent[1] ? 0 : 1);
            long wait = link.tryTake(100_000, now[d]);
            if (wait == 0) sent[d] += 100_000;
            else now[d] += wait;
        }
        long total = sent[0] + sent[1];
        assertTrue(total >= 10_000_000 && total <= 10_200_000, "sent together " + total);
        assertTrue(sent[0] > 0 && sent[1] > 0, "both disks pushed: " + sent[0] + ", " + sent[1]);
    }

    @Test
    void aSendLargerThanOneSecondGoesIntoDebtAndTheNextWaitsItOut() {
        PushBandwidth b = new PushBandwidth(1000);
        assertEquals(0, b.tryTake(3000, 0));
        long wait = b.tryTake(1, 0);
        assertEquals(3 * SECOND, wait);
        assertTrue(b.tryTake(1, SECOND) > 0, "still in debt after 1 s");
        assertEquals(0, b.tryTake(1, 3 * SECOND));
    }

    @Test
    void idleTimeBanksAtMostOneSecond() {
        PushBandwidth b = new PushBandwidth(1000);
        b.tryTake(0, 0);
        // idle for 100 s: only 1000 bytes are banked
        assertEquals(0, b.tryTake(1000, 100 * SECOND));
        assertEquals(0, b.tryTake(1000, 100 * SECOND));     // tokens were 0 (not negative): allowed, now -1000
        assertTrue(b.tryTake(1, 100 * SECOND) > 0);
    }

    @Test
    void rejectsANegativeRate() {
        assertThrows(IllegalArgumentException.class, () -> new PushBandwidth(-1));
        assertThrows(IllegalArgumentException.class, () -> SourceOptions.defaults().withPushBytesPerSecond(-5));
    }
}
