package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vmmig.testkit.net.LabLink;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LinkProfileTest {
    @Test
    void profilesWithoutRttAreVethAndWithRttThePacketDelayLine() {
        assertEquals(LabLink.veth(), LinkProfile.UNSHAPED.labLink());
        assertEquals(LabLink.veth(), LinkProfile.MBIT_100.labLink());
        assertEquals(LabLink.delayLine(Duration.ofMillis(50)), LinkProfile.MBIT_100_RTT_50.labLink());
        assertEquals(Duration.ofMillis(100), LinkProfile.MBIT_100_RTT_200.labLink().oneWayDelay());
    }

    @Test
    void bandwidthDelayProductIsRateTimesRtt() {
        // 12.5 MB/s x 200 ms
        assertEquals(2_500_000, LinkProfile.MBIT_100_RTT_200.bandwidthDelayProductBytes());
        assertEquals(625_000, LinkProfile.MBIT_100_RTT_50.bandwidthDelayProductBytes());
        assertEquals(0, LinkProfile.MBIT_100.bandwidthDelayProductBytes());
        assertEquals(0, LinkProfile.UNSHAPED.bandwidthDelayProductBytes());
    }
}
