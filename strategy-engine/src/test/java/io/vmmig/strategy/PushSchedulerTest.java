package io.vmmig.strategy;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PushSchedulerTest {
    private static final ChunkGeometry GEO = new ChunkGeometry(10L * 1024 * 1024, 1024 * 1024); // 10 chunks

    private static BitSet bits(int... chunks) {
        BitSet b = new BitSet();
        for (int c : chunks) b.set(c);
        return b;
    }

    private static List<Integer> drain(PushScheduler s, int maxRun) {
        List<Integer> out = new ArrayList<>();
        Optional<ChunkRun> r;
        while ((r = s.nextRun(maxRun)).isPresent()) {
            for (int c = r.get().first(); c <= r.get().last(); c++) out.add(c);
        }
        return out;
    }

    @Test
    void pushesOnlyAllocatedChunksInDiskOrder() {
        PushScheduler s = new PushScheduler(GEO, bits(7, 1, 2, 3, 9), 3);
        assertEquals(List.of(1, 2, 3, 7, 9), drain(s, 1));
        assertEquals(0, s.remainingCount());
    }

    @Test
    void groupsConsecutiveChunksIntoRunsBoundedByMax() {
        PushScheduler s = new PushScheduler(GEO, bits(0, 1, 2, 3, 4, 6), 3);
        assertEquals(new ChunkRun(0, 3), s.nextRun(3).orElseThrow());
        assertEquals(new ChunkRun(3, 2), s.nextRun(3).orElseThrow());
        assertEquals(new ChunkRun(6, 1), s.nextRun(3).orElseThrow());
        assertTrue(s.nextRun(3).isEmpty());
    }

    @Test
    void chunkWrittenAgainGoesBackAndIsPushedAgainFromTheCursorOn() {
        PushScheduler s = new PushScheduler(GEO, bits(0, 1, 2, 3, 4), 3);
        assertEquals(new ChunkRun(0, 2), s.nextRun(2).orElseThrow());
        s.onEpoch(bits(0, 4));          // chunk 0 rewritten after its push; 4 never pushed yet
        // the cursor continues at 2; chunk 0 comes back after wrapping around
        assertEquals(List.of(2, 3, 4, 0), drain(s, 1));
    }

    @Test
    void chunkReachingThresholdIsNoLongerPushedButStaysRemaining() {
        PushScheduler s = new PushScheduler(GEO, bits(5), 2);
        assertEquals(List.of(5), drain(s, 4));
        s.onEpoch(bits(5));
        assertEquals(List.of(5), drain(s, 4));     // count 1 < 2: pushed again
        s.onEpoch(bits(5));                         // count 2 == threshold: hot
        assertEquals(List.of(), drain(s, 4));
        assertEquals(1, s.remainingCount());
        assertEquals(1, s.hotCount());
        assertEquals(0, s.pushableCount());
        RemainingSet handover = s.remainingSet();
        assertEquals(bits(5), handover.chunks());
        assertEquals(2, handover.counts().get(5));
    }

    @Test
    void runStopsAtAHotChunk() {
        PushScheduler s = new PushScheduler(GEO, bits(), 1);
        s.onEpoch(bits(2));                          // 2 is hot at once with threshold 1
        s.onEpoch(bits(3));
        BitSet all = bits(0, 1, 2, 3, 4);
        PushScheduler t = new PushScheduler(GEO, all, 2);
        t.onEpoch(bits(2));
        t.onEpoch(bits(2));                          // 2 hot
        assertEquals(new ChunkRun(0, 2), t.nextRun(10).orElseThrow());
        assertEquals(new ChunkRun(3, 2), t.nextRun(10).orElseThrow());
        assertTrue(s.nextRun(10).isEmpty(), "threshold 1: every written chunk is hot");
        assertEquals(2, s.hotCount());
    }

    @Test
    void failedPushPutsTheRunBackAndSkipRemovesAZeroChunk() {
        PushScheduler s = new PushScheduler(GEO, bits(1, 2, 8), 3);
        ChunkRun r = s.nextRun(2).orElseThrow();
        s.pushFailed(r);
        s.skip(8);
        assertEquals(List.of(1, 2), drain(s, 1));
    }

    @Test
    void remainingSetAtCutoverHoldsUnpushedHotAndRewrittenChunks() {
        PushScheduler s = new PushScheduler(GEO, bits(0, 1, 2, 3), 2);
        s.nextRun(2);                 // 0,1 pushed
        s.onEpoch(bits(1, 9));        // 1 rewritten, 9 new
        s.onEpoch(bits(9));           // 9 hot
        // final epoch at the pause
        s.onEpoch(bits(6));
        RemainingSet rs = s.remainingSet();
        assertEquals(bits(1, 2, 3, 6, 9), rs.chunks());
        assertEquals(2, rs.counts().get(9));
        assertEquals(1, rs.counts().get(1));
        assertEquals(0, rs.counts().get(2));
        assertEquals(3, s.epochs());
    }

    @Test
    void rejectsBadParameters() {
        assertThrows(IllegalArgumentException.class, () -> new PushScheduler(GEO, bits(), 0));
        assertThrows(IllegalArgumentException.class, () -> new PushScheduler(GEO, bits(10), 2));
        PushScheduler s = new PushScheduler(GEO, bits(), 2);
        assertThrows(IllegalArgumentException.class, () -> s.onEpoch(bits(11)));
        assertThrows(IllegalArgumentException.class, () -> new ChunkGeometry(100, 1000));
    }

    @Test
    void geometryHandlesAShortLastChunk() {
        ChunkGeometry g = new ChunkGeometry(2 * 65536 + 512, 65536);
        assertEquals(3, g.count());
        assertEquals(512, g.lengthOf(2));
        assertEquals(2, g.lastChunk(0, g.diskSize()));
        assertTrue(g.covers(2 * 65536, 512, 2));
        assertFalse(g.covers(65536 + 1, 65536, 1));
        assertTrue(g.covers(0, 3 * 65536, 1));
        assertThrows(IllegalArgumentException.class, () -> g.lastChunk(g.diskSize() - 1, 2));
    }
}
