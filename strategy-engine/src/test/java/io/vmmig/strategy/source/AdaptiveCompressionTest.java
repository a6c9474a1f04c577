package io.vmmig.strategy.source;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * The adaptive rule fed with modelled costs (no clock): a sender whose send time follows the wire
 * bytes at the link's rate, and whose compression costs raw bytes at a given speed.
 */
class AdaptiveCompressionTest {
    private static final int CHUNK = 256 * 1024;

    /** Sends {@code chunks} chunks; returns the fraction of closed windows that had compression on. */
    private static double run(AdaptiveCompression a, int chunks, double linkBytesPerSec, double compressBytesPerSec,
                              double ratio) {
        long before = a.windows(), onBefore = a.windowsOn();
        for (int i = 0; i < chunks; i++) {
            boolean on = a.compressNext();
            double wire = on ? CHUNK * ratio : CHUNK;
            long compress = on ? (long) (CHUNK / compressBytesPerSec * 1e9) : 0;
            long send = (long) (wire / linkBytesPerSec * 1e9);
            a.sent(on, CHUNK, (long) wire, compress, send);
        }
        long w = a.windows() - before;
        assertTrue(w >= 10, "only " + w + " windows closed");
        return (double) (a.windowsOn() - onBefore) / w;
    }

    @Test
    void linkIsTheBottleneckSoCompressionStaysOn() {
        // 100 Mbit/s, zstd at 300 MB/s, data compresses to 1/3
        AdaptiveCompression a = new AdaptiveCompression();
        double on = run(a, 4000, 12.5e6, 300e6, 1 / 3.0);
        assertTrue(on >= 0.8, "on in " + on * 100 + " % of windows");
        assertTrue(a.rateOn() > 2 * a.rateOff(), a.rateOn() + " vs " + a.rateOff());
    }

    @Test
    void cpuIsTheBottleneckSoCompressionGoesOff() {
        // a 10 Gbit/s link, a loaded CPU compressing at 100 MB/s
        AdaptiveCompression a = new AdaptiveCompression();
        double on = run(a, 20000, 1.25e9, 100e6, 1 / 3.0);
        assertTrue(on <= 0.2, "on in " + on * 100 + " % of windows");
        assertFalse(a.compressNext());
    }

    @Test
    void incompressibleDataOnASlowLinkGoesOff() {
        AdaptiveCompression a = new AdaptiveCompression();
        double on = run(a, 4000, 12.5e6, 300e6, 1.0);
        assertTrue(on <= 0.2, "on in " + on * 100 + " % of windows");
    }

    @Test
    void incompressibleDataGoesOffEvenWhenNoiseMakesItsSendsLookFaster() {
        // a loaded host: the windows with compression on happen to block less, but nothing shrinks
        AdaptiveCompression a = new AdaptiveCompression();
        for (int i = 0; i < 4000; i++) {
            boolean on = a.compressNext();
            a.sent(on, CHUNK, CHUNK, on ? 100_000 : 0, on ? 5_000_000 : 20_000_000);
        }
        assertFalse(a.compressNext());
        assertTrue(a.windowsOn() * 5 <= a.windows(), a.windowsOn() + " of " + a.windows() + " windows on");
    }

    @Test
    void followsAChangeOfLink() {
        AdaptiveCompression a = new AdaptiveCompression();
        run(a, 20000, 1.25e9, 100e6, 1 / 3.0);      // fast link: off
        assertFalse(a.compressNext());
        int switchesBefore = a.switches();
        double on = run(a, 4000, 12.5e6, 100e6, 1 / 3.0);   // now 100 Mbit/s: the probe finds compression pays
        assertTrue(on >= 0.7, "on in " + on * 100 + " % of windows after the link slowed");
        assertTrue(a.compressNext());
        assertTrue(a.switches() > switchesBefore);
    }

    @Test
    void chunksOfTheOtherModeAcrossASwitchAreNotCounted() {
        AdaptiveCompression a = new AdaptiveCompression();
        assertTrue(a.compressNext());
        for (int i = 0; i < 1000; i++) a.sent(false, CHUNK, CHUNK, 0, 1_000_000);
        assertEquals(0, a.windows());
    }
}
