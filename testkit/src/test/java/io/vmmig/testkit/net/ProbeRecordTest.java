package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProbeRecordTest {
    private static final Instant T0 = Instant.parse("2026-12-03T10:00:00Z");

    private static ProbeRecord.Reply reply(long seq, long receivedMs) {
        return new ProbeRecord.Reply(seq, T0.plusMillis(seq * 10), T0.plusMillis(receivedMs));
    }

    @Test
    void theLongestGapIsBetweenConsecutiveAnswersAndCountsTheUnanswered() {
        List<ProbeRecord.Reply> r = new ArrayList<>();
        for (int i = 0; i < 10; i++) r.add(reply(i, i * 10L + 1));
        for (int i = 35; i < 40; i++) r.add(reply(i, i * 10L + 2));   // probes 10..34 unanswered
        java.util.Collections.reverse(r);                             // order of arrival is restored
        ProbeRecord rec = new ProbeRecord(r, Duration.ofMillis(10));
        ProbeRecord.Gap g = rec.longestGap().orElseThrow();
        assertEquals(9, g.before().seq());
        assertEquals(35, g.after().seq());
        assertEquals(261, g.duration().toMillis());
        assertEquals(25, g.unanswered());
        assertEquals(40, rec.sentUpToLastAnswer());
        assertEquals(5, rec.answeredAfter(T0.plusMillis(300)));
        assertEquals(10, rec.answeredBefore(T0.plusMillis(300)));
        assertTrue(rec.summary().contains("longest gap between answers 261 ms (25 unanswered, probes 9..35)"), rec.summary());
        assertEquals(10, rec.longestGapWithin(T0, T0.plusMillis(200)).orElseThrow().duration().toMillis(), "before the gap");
    }

    @Test
    void fewerThanTwoAnswersHaveNoGap() {
        assertTrue(new ProbeRecord(List.of(reply(0, 1)), Duration.ofMillis(10)).longestGap().isEmpty());
        assertTrue(new ProbeRecord(List.of(), Duration.ofMillis(10)).summary().contains("n/a"));
    }
}
