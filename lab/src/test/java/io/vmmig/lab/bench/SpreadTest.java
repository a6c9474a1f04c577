package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class SpreadTest {
    @Test
    void medianOfOddAndEvenCountsWithMinAndMax() {
        Spread odd = Spread.of(3, 1, 2);
        assertEquals(2, odd.median());
        assertEquals(1, odd.min());
        assertEquals(3, odd.max());
        Spread even = Spread.of(4, 1, 2, 10);
        assertEquals(3, even.median());
        assertEquals(4, even.count());
    }

    @Test
    void nanIsLeftOutAndNothingFormatsAsDash() {
        Spread s = Spread.of(Double.NaN, 5, Double.NaN);
        assertEquals(1, s.count());
        assertEquals("5.0", s.format("%.1f"));
        assertEquals("-", Spread.of(Double.NaN).format("%.1f"));
    }

    @Test
    void formatShowsTheRange() {
        assertEquals("2.00 (1.00-3.00)", Spread.of(1, 2, 3).format("%.2f"));
        assertEquals("7", Spread.of(7, 7).format("%.0f"));
    }
}
