package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class TbfShapeTest {
    @Test
    void burstIsAtLeastOneGsoPacketAndFourMillisecondsOfRate() {
        assertEquals(64 * 1024, TbfShape.forRate(100_000_000).burstBytes());
        assertEquals(500_000, TbfShape.forRate(1_000_000_000).burstBytes());
        assertEquals(Duration.ofMillis(50), TbfShape.forRate(10_000_000).latency());
        assertEquals(List.of("tbf", "rate", "100000000bit", "burst", "65536", "latency", "50ms"),
                TbfShape.forRate(100_000_000).tcArguments());
    }

    @Test
    void rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> TbfShape.forRate(100));
        assertThrows(IllegalArgumentException.class, () -> new TbfShape(1_000_000, 100, Duration.ofMillis(5)));
        assertThrows(IllegalArgumentException.class, () -> new TbfShape(1_000_000, 10_000, Duration.ZERO));
    }
}
