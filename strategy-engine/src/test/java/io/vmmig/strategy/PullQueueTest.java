package io.vmmig.strategy;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.strategy.PullQueue.Pull;
import io.vmmig.strategy.PullQueue.Reason;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PullQueueTest {

    /** Remaining chunks 0..n-1 given as write counts per chunk; count -1 = not remaining. */
    private static PullQueue queue(int... countsOrAbsent) {
        BitSet remaining = new BitSet();
        int[] counts = new int[countsOrAbsent.length];
        for (int c = 0; c < countsOrAbsent.length; c++) {
            if (countsOrAbsent[c] >= 0) {
                remaining.set(c);
                counts[c] = countsOrAbsent[c];
            }
        }
        return new PullQueue(new RemainingSet(remaining, WriteCounts.of(counts)));
    }

    private static void pullAndInstall(PullQueue q, int chunk) {
        assertTrue(q.pullArrived(chunk));
        q.installed(chunk);
    }

    @Test
    void aChunkClaimedForALocalCopyIsNotPulledAndAnUnclaimedOneIs() {
        PullQueue q = queue(3, 2, 1, -1);
        assertTrue(q.claim(0), "missing and nobody pulls it");
        assertFalse(q.claim(0), "already claimed");
        assertFalse(q.claim(3), "present (not remaining)");
        assertTrue(q.claim(1));
        q.unclaim(1);   // no local copy after all
        List<Integer> order = new ArrayList<>();
        OptionalInt c;
        while ((c = q.next()).isPresent()) order.add(c.getAsInt());
        assertEquals(List.of(1, 2), order, "the claimed chunk is left out, the unclaimed one pulled");
        CompletableFuture<Void> read = q.demand(0);
        assertFalse(read.isDone(), "a guest read of the claimed chunk waits for its install");
        pullAndInstall(q, 0);
        assertTrue(read.isDone());
        pullAndInstall(q, 1);
        pullAndInstall(q, 2);
        assertTrue(q.isComplete());
    }

    @Test
    void backgroundOrderIsHottestFirstThenDiskOrder() {
        PullQueue q = queue(0, 5, -1, 2, 5, 9);
        List<Integer> order = new ArrayList<>();
        OptionalInt c;
        while ((c = q.next()).isPresent()) order.add(c.getAsInt());
        assertEquals(List.of(5, 1, 4, 3, 0), order);
        assertEquals(5, q.notPresentCount(), "taken but not yet installed");
        order.forEach(ch -> pullAndInstall(q, ch));
        assertTrue(q.isComplete());
        assertEquals(5, q.stats().pulledBackground());
    }

    @Test
    void demandedChunkPreemptsTheBackgroundOrderAndIsCountedOnDemand() throws Exception {
        PullQueue q = queue(9, 8, 7, 0);
        assertEquals(0, q.next().getAsInt());             // background took the hottest
        CompletableFuture<Void> read = q.demand(3);       // coldest, but a guest reads it
        assertFalse(read.isDone());
        Pull p = q.awaitNext(1, TimeUnit.SECONDS);
        assertEquals(new Pull(3, Reason.ON_DEMAND), p);
        assertFalse(read.isDone(), "not present before installed");
        assertTrue(q.pullArrived(3));
        assertFalse(read.isDone(), "not present while bytes are being written to the store");
        q.installed(3);
        assertTrue(read.isDone());
        assertEquals(new Pull(1, Reason.BACKGROUND), q.awaitNext(1, TimeUnit.SECONDS));
        assertEquals(1, q.stats().pulledOnDemand());
        assertEquals(2, q.stats().pulledBackground());
    }

    @Test
    void demandOfAChunkAlreadyInFlightWaitsForItWithoutASecondPull() {
        PullQueue q = queue(1, 0);
        assertEquals(0, q.next().getAsInt());
        CompletableFuture<Void> read = q.demand(0);
        assertEquals(1, q.next().getAsInt(), "chunk 0 is not handed out twice");
        assertTrue(q.next().isEmpty());
        pullAndInstall(q, 0);
        assertTrue(read.isDone());
        assertEquals(0, q.stats().pulledOnDemand());
    }

    @Test
    void demandOfAPresentChunkIsImmediate() {
        PullQueue q = queue(-1, 3);
        assertTrue(q.demand(0).isDone());
        assertTrue(q.isPresent(0));
        assertFalse(q.isPresent(1));
    }

    @Test
    void fullChunkWriteCancelsAQueuedPull() {
        PullQueue q = queue(4, 1);
        CompletableFuture<Void> go = q.overwrite(0);
        assertTrue(go.isDone(), "a missing chunk may be overwritten at once");
        q.overwritten(0);
        assertTrue(q.isPresent(0));
        assertEquals(1, q.next().getAsInt(), "chunk 0 is no longer pulled");
        assertTrue(q.next().isEmpty());
        assertEquals(1, q.stats().cancelledByWrite());
    }

    @Test
    void fullChunkWriteDuringAPullMakesThePulledBytesBeDiscarded() {
        PullQueue q = queue(4);
        assertEquals(0, q.next().getAsInt());
        assertTrue(q.overwrite(0).isDone());
        q.overwritten(0);
        assertFalse(q.pullArrived(0), "stale pulled bytes must not land on the guest's write");
        assertTrue(q.isComplete());
        assertEquals(1, q.stats().discardedPulls());
    }

    @Test
    void fullChunkWriteWaitsWhilePulledBytesAreBeingInstalled() {
        PullQueue q = queue(4);
        assertEquals(0, q.next().getAsInt());
        assertTrue(q.pullArrived(0));
        CompletableFuture<Void> go = q.overwrite(0);
        assertFalse(go.isDone(), "the guest write must land after the pulled bytes");
        q.installed(0);
        assertTrue(go.isDone());
        assertTrue(q.isPresent(0));
    }

    @Test
    void partialChunkWriteWaitsForThePullOfItsChunk() {
        // A partial-chunk write uses demand(): its other bytes must come from the source first.
        PullQueue q = queue(0, 7);
        CompletableFuture<Void> partial = q.demand(0);
        assertEquals(new Pull(0, Reason.ON_DEMAND), take(q));
        assertFalse(partial.isDone());
        pullAndInstall(q, 0);
        assertTrue(partial.isDone());
    }

    @Test
    void failedPullIsRetriedAndAWaitingReaderStaysFirst() {
        PullQueue q = queue(1, 5);
        CompletableFuture<Void> read = q.demand(0);
        assertEquals(0, take(q).chunk());
        q.pullFailed(0);
        assertFalse(read.isDone());
        assertEquals(0, take(q).chunk(), "retried before the hotter background chunk");
        pullAndInstall(q, 0);
        assertTrue(read.isDone());
    }

    @Test
    void awaitNextReturnsNullOnceEverythingIsPresentOrAfterTheDeadline() throws Exception {
        PullQueue q = queue(1);
        assertEquals(0, take(q).chunk());
        assertNull(q.awaitNext(50, TimeUnit.MILLISECONDS), "one in flight, nothing to hand out");
        pullAndInstall(q, 0);
        assertNull(q.awaitNext(10, TimeUnit.SECONDS), "complete: returns at once");
    }

    @Test
    void demandWakesAWaitingPuller() throws Exception {
        PullQueue q = queue(2, 1);
        take(q);
        take(q);
        q.pullFailed(1);
        CompletableFuture<Pull> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return q.awaitNext(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(1, waiting.get(10, TimeUnit.SECONDS).chunk());
    }

    @Test
    void sectorWritesAreReadyAtOnceTheInstallSkipsThemAndThePresentChunkWaitsForThemToLand() {
        PullQueue q = queue(1);
        assertEquals(0, q.next().getAsInt());
        PullQueue.GuestWrite a = q.write(0, 8, 16, 128);
        PullQueue.GuestWrite b = q.write(0, 100, 101, 128);
        assertTrue(a.ready().isDone() && b.ready().isDone(), "no pull awaited");
        assertTrue(a.intoMissingChunk());
        a.done(true);
        BitSet skip = q.pullArrivedSkipping(0);
        BitSet expected = new BitSet();
        expected.set(8, 16);
        expected.set(100);
        assertEquals(expected, skip);
        PullQueue.GuestWrite during = q.write(0, 0, 1, 128);
        assertFalse(during.ready().isDone(), "the install can no longer skip it: it waits");
        CompletableFuture<Void> reader = q.read(0, 0, 128);
        q.installed(0);
        assertTrue(during.ready().isDone());
        assertFalse(during.intoMissingChunk());
        assertFalse(q.isPresent(0), "b has not landed: its sectors still hold stale bytes");
        assertFalse(reader.isDone());
        b.done(true);
        assertTrue(q.isPresent(0));
        assertTrue(reader.isDone());
        assertTrue(q.completion().isDone());
        during.done(true);
    }

    @Test
    void readOfLandedGuestSectorsIsServedWithoutAPull() {
        PullQueue q = queue(1, 1);
        PullQueue.GuestWrite w = q.write(1, 0, 8, 128);
        w.done(true);
        assertTrue(q.read(1, 2, 6).isDone());
        assertEquals(1, q.stats().readsServedFromGuestWrites());
        assertFalse(q.read(1, 6, 9).isDone(), "sector 8 was not written: demanded");
        assertEquals(new Pull(1, Reason.ON_DEMAND), take(q));
    }

    @Test
    void onDemandLatencyRunsFromTheDemandToTheInstall() {
        PullQueue q = queue(0, 0, 0);
        q.demand(2);
        q.demand(0);
        assertEquals(2, take(q).chunk());
        assertEquals(0, take(q).chunk());
        assertEquals(1, take(q).chunk());      // background: not sampled
        pullAndInstall(q, 2);
        pullAndInstall(q, 0);
        pullAndInstall(q, 1);
        OnDemandLatency l = q.onDemandLatency();
        assertEquals(2, l.count());
        assertTrue(l.maxMicros() >= l.medianMicros() && l.medianMicros() >= 0);
        assertEquals(OnDemandLatency.NONE, queue(0).onDemandLatency());
        long[] all = q.onDemandLatencyNanos(0);
        assertEquals(2, all.length, "one sample per on-demand pull, none for the background one");
        assertEquals(l.maxMicros(), java.util.Arrays.stream(all).max().getAsLong() / 1000);
        assertEquals(all[1], q.onDemandLatencyNanos(1)[0], "from the n-th on: a caller asks only for the new ones");
        assertEquals(0, q.onDemandLatencyNanos(2).length);
        assertEquals(0, q.onDemandLatencyNanos(7).length, "past the end: none");
    }

    private static Pull take(PullQueue q) {
        try {
            Pull p = q.awaitNext(1, TimeUnit.SECONDS);
            assertNotNull(p);
            return p;
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
