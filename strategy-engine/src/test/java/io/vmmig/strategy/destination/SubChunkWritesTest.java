package io.vmmig.strategy.destination;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.nbd.backend.BackendCapabilities;
import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.Extent;
import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.PullQueue;
import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.WriteCounts;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guest writes into chunks that are not yet present go to the store at once (sector masks), and
 * the pulled bytes are installed around them: real files for the source (the truth) and the local
 * store (stale pushed data), interleavings forced with held store writes and shuffled pulls.
 */
class SubChunkWritesTest {
    private static final int CHUNK = 64 * 1024;
    private static final int CHUNKS = 16;
    private static final int SECTOR = 512;
    private static final ChunkGeometry GEO = new ChunkGeometry((long) CHUNK * CHUNKS, CHUNK);

    @TempDir Path dir;
    private byte[] truth;
    private LocalFileBackend sourceFile;
    private LocalFileBackend storeFile;

    @BeforeEach
    void images() throws IOException {
        truth = new byte[CHUNK * CHUNKS];
        new Random(42).nextBytes(truth);
        Files.write(dir.resolve("source.raw"), truth);
        byte[] stale = truth.clone();
        for (int i = 0; i < stale.length; i += 3) stale[i] ^= 0x5a;  // every sector differs from the truth
        Files.write(dir.resolve("store.raw"), stale);
        sourceFile = LocalFileBackend.open(dir.resolve("source.raw"), true);
        storeFile = LocalFileBackend.open(dir.resolve("store.raw"), false);
    }

    @AfterEach
    void close() throws IOException {
        sourceFile.close();
        storeFile.close();
    }

    private static RemainingSet allMissing(Random rnd) {
        BitSet set = new BitSet();
        set.set(0, CHUNKS);
        int[] counts = new int[CHUNKS];
        for (int c = 0; c < CHUNKS; c++) counts[c] = rnd.nextInt(4);
        return new RemainingSet(set, WriteCounts.of(counts));
    }

    private static RemainingSet missing(int... chunks) {
        BitSet set = new BitSet();
        for (int c : chunks) set.set(c);
        return new RemainingSet(set, new WriteCounts(CHUNKS));
    }

    private static byte[] read(BlockBackend b, long offset, int length) {
        ByteBuffer buf = ByteBuffer.allocate(length);
        b.read(offset, buf).orTimeout(10, TimeUnit.SECONDS).join();
        assertFalse(buf.hasRemaining());
        return buf.array();
    }

    private static void write(BlockBackend b, long offset, byte[] data) {
        b.write(offset, ByteBuffer.wrap(data), false).orTimeout(10, TimeUnit.SECONDS).join();
    }

    private static byte[] pattern(int length, Random rnd) {
        byte[] b = new byte[length];
        rnd.nextBytes(b);
        return b;
    }

    private byte[] truth(long offset, int length) {
        return Arrays.copyOfRange(truth, (int) offset, (int) offset + length);
    }

    @Test
    void randomConcurrentWritesReadsAndShuffledPullsMatchTheReference() throws Exception {
        long takenAtOnce = 0;
        for (int seed = 1; seed <= 12; seed++) {
            takenAtOnce += oneRandomRun(seed);
        }
        assertTrue(takenAtOnce > 0, "some writes went into missing chunks without waiting");
    }

    /** Returns how many guest writes were taken at once into missing chunks. */
    private long oneRandomRun(int seed) throws Exception {
        Random rnd = new Random(seed);
        byte[] stale = truth.clone();
        for (int i = seed % 3; i < stale.length; i += 3) stale[i] ^= (byte) (0x11 * seed);
        write(storeFile, 0, stale);
        byte[] reference = truth.clone();
        ExecutorService delays = Executors.newScheduledThreadPool(2);
        // Pulls answered after random delays, so they arrive in random orders.
        ChunkSource shuffled = (offset, dst, priority) -> {
            CompletableFuture<Void> f = new CompletableFuture<>();
            long micros = 50 + (long) (Math.random() * 3000);
            CompletableFuture.delayedExecutor(micros, TimeUnit.MICROSECONDS, delays)
                    .execute(() -> sourceFile.read(offset, dst).whenComplete((v, e) -> {
                        if (e != null) f.completeExceptionally(e);
                        else f.complete(null);
                    }));
            return f;
        };
        DestinationDisk disk = new DestinationDisk(GEO, storeFile, shuffled);
        PullQueue q = disk.handOver(allMissing(rnd));
        ExecutorService guests = Executors.newFixedThreadPool(4);
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), shuffled, storeFile)) {
            disk.onDemand(puller::demanded);
            CompletableFuture<Void> done = puller.start(2, Duration.ofMillis(rnd.nextInt(15)));
            List<Callable<Void>> work = new ArrayList<>();
            for (int t = 0; t < 3; t++) work.add(smallWriter(disk, reference, t, 3, seed * 31 + t));
            work.add(bigWriter(disk, reference, seed * 97));
            for (Future<Void> f : guests.invokeAll(work, 60, TimeUnit.SECONDS)) f.get();
            done.get(20, TimeUnit.SECONDS);
        } finally {
            guests.shutdownNow();
            delays.shutdownNow();
        }
        assertTrue(q.isComplete());
        assertArrayEquals(reference, read(storeFile, 0, CHUNK * CHUNKS), "store after seed " + seed);
        assertArrayEquals(reference, read(disk, 0, CHUNK * CHUNKS), "disk after seed " + seed);
        PullQueue.PullStats s = q.stats();
        assertEquals(CHUNKS, s.pulledOnDemand() + s.pulledBackground() + s.cancelledByWrite(),
                "every chunk was either pulled or written whole: " + s);
        return disk.writeStats().takenAtOnce();
    }

    /**
     * Owns the 4 KiB blocks {@code b} of chunks 4.. with {@code b % owners == me}: writes whole
     * sectors inside them, reads them back and checks its own writes (and the truth elsewhere).
     */
    private Callable<Void> smallWriter(DestinationDisk disk, byte[] reference, int me, int owners, long seed) {
        return () -> {
            Random rnd = new Random(seed);
            int firstBlock = 4 * CHUNK / 4096;
            int blocks = CHUNK * CHUNKS / 4096;
            for (int op = 0; op < 120; op++) {
                int block;
                do block = firstBlock + rnd.nextInt(blocks - firstBlock); while (block % owners != me);
                long blockStart = (long) block * 4096;
                int fromSector = rnd.nextInt(8);
                int sectors = 1 + rnd.nextInt(8 - fromSector);
                long offset = blockStart + (long) fromSector * SECTOR;
                if (rnd.nextInt(4) == 0) {
                    byte[] got = read(disk, blockStart, 4096);
                    assertArrayEquals(Arrays.copyOfRange(reference, (int) blockStart, (int) blockStart + 4096), got,
                            "read back of block " + block);
                } else {
                    byte[] data = pattern(sectors * SECTOR, rnd);
                    write(disk, offset, data);
                    System.arraycopy(data, 0, reference, (int) offset, data.length);
                }
            }
            return null;
        };
    }

    /** Owns chunks 0..3: whole-chunk writes, writes across a chunk boundary, unaligned writes, reads. */
    private Callable<Void> bigWriter(DestinationDisk disk, byte[] reference, long seed) {
        return () -> {
            Random rnd = new Random(seed);
            for (int op = 0; op < 30; op++) {
                long offset;
                int length;
                switch (rnd.nextInt(5)) {
                    case 0 -> { offset = (long) rnd.nextInt(4) * CHUNK; length = CHUNK; }
                    case 1 -> { offset = CHUNK + (long) (128 - 1 - rnd.nextInt(8)) * SECTOR; length = SECTOR * (2 + rnd.nextInt(16)); }
                    case 2 -> { offset = rnd.nextInt(4 * CHUNK - 3000); length = 1 + rnd.nextInt(2999); }
                    case 3 -> { offset = (long) rnd.nextInt(4 * 128 - 8) * SECTOR; length = SECTOR * (1 + rnd.nextInt(8)); }
                    default -> {
                        offset = rnd.nextInt(4 * CHUNK - 5000);
                        length = 1 + rnd.nextInt(5000);
                        byte[] got = read(disk, offset, length);
                        assertArrayEquals(Arrays.copyOfRange(reference, (int) offset, (int) offset + length), got,
                                "read back at " + offset + "+" + length);
                        continue;
                    }
                }
                byte[] data = pattern(length, rnd);
                write(disk, offset, data);
                System.arraycopy(data, 0, reference, (int) offset, length);
            }
            return null;
        };
    }

    @Test
    void sectorWriteIntoAChunkBeingPulledIsTakenAtOnceAndThePullInstallsAroundIt() throws Exception {
        HeldReads source = new HeldReads(ChunkSource.of(sourceFile));
        DestinationDisk disk = new DestinationDisk(GEO, storeFile, source);
        PullQueue q = disk.handOver(missing(3));
        source.hold(3L * CHUNK);
        byte[] mine = pattern(3 * SECTOR, new Random(5));
        long at = 3L * CHUNK + 10 * SECTOR;
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), source, storeFile)) {
            CompletableFuture<Void> done = puller.start(1);
            source.awaitHeld();                                   // the pull of chunk 3 is on the wire
            disk.write(at, ByteBuffer.wrap(mine), false).get(10, TimeUnit.SECONDS);   // does not wait for it
            assertFalse(q.isPresent(3));
            assertArrayEquals(mine, read(disk, at, mine.length), "served from the guest's own write, no pull needed");
            source.release();
            done.get(10, TimeUnit.SECONDS);
        }
        byte[] expected = truth(3L * CHUNK, CHUNK);
        System.arraycopy(mine, 0, expected, 10 * SECTOR, mine.length);
        assertArrayEquals(expected, read(storeFile, 3L * CHUNK, CHUNK));
        assertEquals(1, disk.writeStats().takenAtOnce());
        assertEquals(0, disk.writeStats().waited());
        assertEquals(1, q.stats().readsServedFromGuestWrites());
    }

    @Test
    void writeIntoAChunkWhosePulledBytesAreBeingInstalledWaitsForTheInstall() throws Exception {
        HeldWrites store = new HeldWrites(storeFile, o -> o == 5L * CHUNK);   // the install's first run
        DestinationDisk disk = new DestinationDisk(GEO, store, ChunkSource.of(sourceFile));
        PullQueue q = disk.handOver(missing(5));
        byte[] mine = pattern(8 * SECTOR, new Random(6));
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(sourceFile), store)) {
            CompletableFuture<Void> done = puller.start(1);
            store.awaitHeld();                                    // pulled bytes on their way into the store
            CompletableFuture<Void> w = disk.write(5L * CHUNK, ByteBuffer.wrap(mine), false);
            assertFalse(w.isDone(), "the install can no longer skip these sectors: the write must wait");
            store.release();
            w.get(10, TimeUnit.SECONDS);
            done.get(10, TimeUnit.SECONDS);
        }
        byte[] expected = truth(5L * CHUNK, CHUNK);
        System.arraycopy(mine, 0, expected, 0, mine.length);
        assertArrayEquals(expected, read(storeFile, 5L * CHUNK, CHUNK), "the guest's write landed after the install");
        assertEquals(1, disk.writeStats().waited());
        assertTrue(q.isPresent(5));
    }

    @Test
    void installSkipsTheSectorsOfAGuestWriteStillInFlightAndThePresentChunkWaitsForIt() throws Exception {
        long at = 6L * CHUNK + 64 * SECTOR;
        HeldWrites store = new HeldWrites(storeFile, o -> o == at);          // the guest's write
        HeldReads source = new HeldReads(ChunkSource.of(sourceFile));
        source.hold(6L * CHUNK);
        DestinationDisk disk = new DestinationDisk(GEO, store, source);
        PullQueue q = disk.handOver(missing(6));
        byte[] mine = pattern(4 * SECTOR, new Random(7));
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), source, store)) {
            disk.onDemand(puller::demanded);
            CompletableFuture<Void> done = puller.start(1);
            source.awaitHeld();
            CompletableFuture<Void> w = disk.write(at, ByteBuffer.wrap(mine), false);
            store.awaitHeld();                                    // claimed, but not in the store yet
            source.release();                                     // the pulled (older) bytes arrive and install
            CompletableFuture<Void> r = disk.read(6L * CHUNK, ByteBuffer.allocate(CHUNK));
            awaitCondition("the install of chunk 6", () -> puller.bytesPulled() == CHUNK);
            assertFalse(q.isPresent(6), "not present while a claimed write is in flight");
            assertFalse(done.isDone());
            assertFalse(r.isDone(), "a read must not see the stale bytes under the write in flight");
            store.release();
            w.get(10, TimeUnit.SECONDS);
            r.get(10, TimeUnit.SECONDS);
            done.get(10, TimeUnit.SECONDS);
        }
        byte[] expected = truth(6L * CHUNK, CHUNK);
        System.arraycopy(mine, 0, expected, 64 * SECTOR, mine.length);
        assertArrayEquals(expected, read(storeFile, 6L * CHUNK, CHUNK));
    }

    @Test
    void readOfAMissingChunkWrittenByTheGuestCausesNoPull() throws Exception {
        DestinationDisk disk = new DestinationDisk(GEO, storeFile, ChunkSource.of(sourceFile));
        PullQueue q = disk.handOver(missing(2, 7));
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(sourceFile), storeFile)) {
            disk.onDemand(puller::demanded);
            puller.start(0);                                      // demands only
            byte[] mine = pattern(4096, new Random(8));
            write(disk, 7L * CHUNK + 4096, mine);
            write(disk, 7L * CHUNK + 8192, mine);
            assertArrayEquals(mine, read(disk, 7L * CHUNK + 4096, 4096));
            byte[] both = read(disk, 7L * CHUNK + 4096, 8192);
            assertArrayEquals(mine, Arrays.copyOfRange(both, 4096, 8192));
            assertArrayEquals(Arrays.copyOfRange(mine, 100, 912), read(disk, 7L * CHUNK + 4096 + 100, 812),
                    "unaligned, inside written sectors");
            assertEquals(0, q.stats().pulledOnDemand(), "no pull for sectors the guest wrote");
            assertFalse(q.isPresent(7));

            byte[] mixed = read(disk, 7L * CHUNK, 8192);           // half unwritten: pulled on demand
            assertArrayEquals(truth(7L * CHUNK, 4096), Arrays.copyOfRange(mixed, 0, 4096));
            assertArrayEquals(mine, Arrays.copyOfRange(mixed, 4096, 8192));
            assertEquals(1, q.stats().pulledOnDemand());
            assertEquals(1, q.onDemandLatency().count());
            assertTrue(q.onDemandLatency().maxMicros() >= q.onDemandLatency().medianMicros());
            assertFalse(q.isPresent(2), "nothing else pulled");
        }
    }

    @Test
    void sectorWritesCoveringAWholeChunkCancelItsPull() throws Exception {
        DestinationDisk disk = new DestinationDisk(GEO, storeFile, ChunkSource.of(sourceFile));
        PullQueue q = disk.handOver(missing(9));
        byte[] mine = pattern(CHUNK, new Random(9));
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(sourceFile), storeFile)) {
            disk.onDemand(puller::demanded);
            CompletableFuture<Void> done = puller.start(0);
            for (int i = CHUNK / 4096 - 1; i >= 0; i--) {          // 16 writes of 4 KiB, none whole
                write(disk, 9L * CHUNK + i * 4096L, Arrays.copyOfRange(mine, i * 4096, (i + 1) * 4096));
            }
            done.get(10, TimeUnit.SECONDS);
            assertEquals(0, puller.bytesPulled());
        }
        assertTrue(q.isPresent(9));
        assertEquals(1, q.stats().cancelledByWrite());
        assertEquals(16, disk.writeStats().takenAtOnce());
        assertArrayEquals(mine, read(storeFile, 9L * CHUNK, CHUNK));
    }

    @Test
    void unalignedWriteIntoAMissingChunkWaitsForItsPull() throws Exception {
        HeldReads source = new HeldReads(ChunkSource.of(sourceFile));
        source.hold(4L * CHUNK);
        DestinationDisk disk = new DestinationDisk(GEO, storeFile, source);
        PullQueue q = disk.handOver(missing(4));
        byte[] mine = pattern(700, new Random(10));
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), source, storeFile)) {
            disk.onDemand(puller::demanded);
            puller.start(0);
            CompletableFuture<Void> w = disk.write(4L * CHUNK + 1000, ByteBuffer.wrap(mine), false);
            source.awaitHeld();                                    // demanded: its sectors need the source's bytes
            assertFalse(w.isDone());
            source.release();
            w.get(10, TimeUnit.SECONDS);
        }
        byte[] expected = truth(4L * CHUNK, CHUNK);
        System.arraycopy(mine, 0, expected, 1000, mine.length);
        assertArrayEquals(expected, read(storeFile, 4L * CHUNK, CHUNK));
        assertEquals(1, q.stats().pulledOnDemand());
        assertEquals(1, disk.writeStats().waited());
    }

    /**
     * A store with one request slot whose completions run while the slot is still held (an NBD
     * client's reply reader completes a reply before the next request can get a slot): the read
     * released by a guest write landing must not be issued on that completing thread.
     */
    @Test
    void readReleasedByALandingGuestWriteIsNotIssuedOnTheStoresCompletingThread() throws Exception {
        long at = 1L * CHUNK;
        java.util.concurrent.Semaphore slot = new java.util.concurrent.Semaphore(1);
        CountDownLatch guestWriteArrived = new CountDownLatch(1);
        CountDownLatch guestWriteGate = new CountDownLatch(1);
        BlockBackend oneSlot = new HeldWrites(storeFile, o -> false) {
            @Override public CompletableFuture<Void> write(long o, ByteBuffer src, boolean f) {
                boolean guests = o == at;    // held (without a slot) until the install has landed
                return oneAtATime(guests, () -> storeFile.write(o, src, f));
            }
            @Override public CompletableFuture<Void> read(long o, ByteBuffer dst) {
                return oneAtATime(false, () -> storeFile.read(o, dst));
            }
            private CompletableFuture<Void> oneAtATime(boolean held, java.util.function.Supplier<CompletableFuture<Void>> op) {
                if (!held) slot.acquireUninterruptibly();
                CompletableFuture<Void> done = new CompletableFuture<>();
                Thread t = new Thread(() -> {
                    if (held) {
                        guestWriteArrived.countDown();
                        await(guestWriteGate);
                        slot.acquireUninterruptibly();
                    }
                    op.get().join();
                    done.complete(null);        // callbacks run here, slot still held
                    slot.release();
                });
                t.setDaemon(true);
                t.start();
                return done;
            }
        };
        HeldReads source = new HeldReads(ChunkSource.of(sourceFile));
        source.hold(at);
        DestinationDisk disk = new DestinationDisk(GEO, oneSlot, source);
        PullQueue q = disk.handOver(missing(1));
        byte[] mine = pattern(8 * SECTOR, new Random(11));
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), source, oneSlot)) {
            disk.onDemand(puller::demanded);
            CompletableFuture<Void> done = puller.start(1);
            source.awaitHeld();
            CompletableFuture<Void> w = disk.write(at, ByteBuffer.wrap(mine), false);   // claimed, held in the store
            assertTrue(guestWriteArrived.await(10, TimeUnit.SECONDS));
            ByteBuffer got = ByteBuffer.allocate(CHUNK);
            CompletableFuture<Void> r = CompletableFuture.supplyAsync(() -> disk.read(at, got)).thenCompose(f -> f);
            source.release();                  // the install lands around the write still in flight
            awaitCondition("the install of chunk 1", () -> puller.bytesPulled() == CHUNK);
            assertFalse(r.isDone(), "the read waits for the guest write");
            guestWriteGate.countDown();        // it lands; its completion releases the read
            w.get(10, TimeUnit.SECONDS);
            r.get(10, TimeUnit.SECONDS);
            done.get(10, TimeUnit.SECONDS);
            byte[] expected = truth(at, CHUNK);
            System.arraycopy(mine, 0, expected, 0, mine.length);
            assertArrayEquals(expected, got.array());
            assertTrue(q.isPresent(1));
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void awaitCondition(String what, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            Thread.onSpinWait();
        }
    }

    /** A source whose read at one offset is held until released. */
    private static final class HeldReads implements ChunkSource {
        private final ChunkSource inner;
        private volatile long heldOffset = -1;
        private final CountDownLatch arrived = new CountDownLatch(1);
        private final CountDownLatch gate = new CountDownLatch(1);

        HeldReads(ChunkSource inner) { this.inner = inner; }

        void hold(long offset) { heldOffset = offset; }

        void awaitHeld() throws InterruptedException { assertTrue(arrived.await(10, TimeUnit.SECONDS), "held read never came"); }

        void release() { gate.countDown(); }

        @Override
        public CompletableFuture<Void> read(long offset, ByteBuffer dst, io.vmmig.strategy.peer.Frame.Priority priority) {
            if (offset != heldOffset) return inner.read(offset, dst, priority);
            arrived.countDown();
            return CompletableFuture.runAsync(() -> {
                try {
                    assertTrue(gate.await(10, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }).thenCompose(v -> inner.read(offset, dst, priority));
        }
    }

    /** A store whose first write at a chosen offset is held until released. */
    private static class HeldWrites implements BlockBackend {
        private final BlockBackend inner;
        private final LongPredicate held;
        private final CountDownLatch arrived = new CountDownLatch(1);
        private final CountDownLatch gate = new CountDownLatch(1);
        private final ConcurrentLinkedQueue<Long> seen = new ConcurrentLinkedQueue<>();

        HeldWrites(BlockBackend inner, LongPredicate held) {
            this.inner = inner;
            this.held = held;
        }

        void awaitHeld() throws InterruptedException { assertTrue(arrived.await(10, TimeUnit.SECONDS), "held write never came"); }

        void release() { gate.countDown(); }

        @Override public CompletableFuture<Void> write(long o, ByteBuffer s, boolean f) {
            if (!held.test(o) || arrived.getCount() == 0) return inner.write(o, s, f);
            seen.add(o);
            arrived.countDown();
            return CompletableFuture.runAsync(() -> {
                try {
                    assertTrue(gate.await(10, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }).thenCompose(v -> inner.write(o, s, f));
        }

        @Override public CompletableFuture<Void> read(long offset, ByteBuffer dst) { return inner.read(offset, dst); }
        @Override public long size() { return inner.size(); }
        @Override public boolean readOnly() { return false; }
        @Override public BackendCapabilities capabilities() { return inner.capabilities(); }
        @Override public CompletableFuture<Void> writeZeroes(long o, long l, boolean t, boolean z, boolean f) { return inner.writeZeroes(o, l, t, z, f); }
        @Override public CompletableFuture<Void> trim(long o, long l, boolean f) { return inner.trim(o, l, f); }
        @Override public CompletableFuture<Void> flush() { return inner.flush(); }
        @Override public CompletableFuture<List<Extent>> blockStatus(long o, long l, int m) { return inner.blockStatus(o, l, m); }
        @Override public void close() { }
    }
}
