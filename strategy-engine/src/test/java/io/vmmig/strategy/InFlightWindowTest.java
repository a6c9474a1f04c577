package io.vmmig.strategy;

import io.vmmig.strategy.destination.ChunkPuller;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/**
 * The pull window against a modelled link (no clock, no sleeping): {@code depth} pulls in flight over
 * a path of round trip {@code rtt} and rate {@code rate} deliver min(depth x chunk / rtt, rate).
 */
class InFlightWindowTest {
    private static final int CHUNK = 256 * 1024;

    /** Runs the model for {@code seconds}; returns the depth the window settles at. */
    private static int settle(InFlightWindow w, double rateBytesPerSec, long rttNanos, double seconds) {
        long now = 1_000_000_000L;
        long end = now + (long) (seconds * 1e9);
        while (now < end) {
            int depth = w.depth();
            double delivered = Math.min(depth * (double) CHUNK * 1e9 / rttNanos, rateBytesPerSec);
            long gap = (long) (CHUNK / delivered * 1e9);      // time between two answers
            // queueing: with more in flight than the BDP, the answer waits its turn behind the others
            long latency = Math.max(rttNanos, (long) (depth * (double) CHUNK / rateBytesPerSec * 1e9));
            now += gap;
            w.answered(CHUNK, now - latency, now);
        }
        return w.depth();
    }

    @Test
    void fillsTheBandwidthDelayProductAt100MbitAnd200Ms() {
        InFlightWindow w = new InFlightWindow(CHUNK, 8, ChunkPuller.MAX_PULL_WINDOW_BYTES);
        int depth = settle(w, 12.5e6, 200_000_000L, 20);
        double bdpChunks = 12.5e6 * 0.2 / CHUNK;   // ~9.5
        assertTrue(depth >= bdpChunks * 1.2 && depth <= bdpChunks * InFlightWindow.GAIN + 2, "depth " + depth + " for a BDP of " + bdpChunks + " chunks");
        assertEquals(200_000, w.minRttMicros(), 1000);
        assertEquals(12.5e6, w.maxRate(), 12.5e6 * 0.05);
    }

    @Test
    void smallChunksGetADeeperWindow() {
        InFlightWindow w = new InFlightWindow(64 * 1024, 8, ChunkPuller.MAX_PULL_WINDOW_BYTES);
        long now = 1_000_000_000L;
        // 64 KiB chunks: 12.5 MB/s x 200 ms = 38 chunks in flight needed
        for (int i = 0; i < 20000; i++) {
            int depth = w.depth();
            double delivered = Math.min(depth * 65536.0 / 0.2, 12.5e6);
            now += (long) (65536 / delivered * 1e9);
            w.answered(65536, now - 200_000_000L, now);
        }
        assertTrue(w.depth() >= 46 && w.depth() <= 60, "depth " + w.depth() + " for a BDP of 38 chunks");
    }

    @Test
    void aLanKeepsASmallWindow() {
        InFlightWindow w = new InFlightWindow(CHUNK, 8, ChunkPuller.MAX_PULL_WINDOW_BYTES);
        // 10 Gbit/s, 0.2 ms: BDP 1 chunk; the model's 8 pulls in flight queue 1.7 ms from the first answer on,
        // so the shortest round trip seen is that, and the window settles at 1.5 x 8
        int depth = settle(w, 1.25e9, 200_000L, 5);
        assertTrue(depth >= 8 && depth <= 12, "depth " + depth);
    }

    @Test
    void neverMoreThanTheByteCap() {
        InFlightWindow w = new InFlightWindow(CHUNK, 8, 4L << 20);
        int depth = settle(w, 125e6, 200_000_000L, 20);   // 1 Gbit/s, 200 ms: BDP 25 MB
        assertEquals(16, depth);
        assertEquals(16, w.maxDepth());
    }

    @Test
    void startsAtTheMinimumBeforeAnyMeasurement() {
        assertEquals(8, new InFlightWindow(CHUNK, 8, 64L << 20).depth());
        assertThrows(IllegalArgumentException.class, () -> new InFlightWindow(0, 8, 1 << 20));
    }
}
