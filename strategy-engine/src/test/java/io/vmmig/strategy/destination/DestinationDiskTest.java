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
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The destination's I/O routing on real files: a "source" image (the truth), a local store holding
 * stale pushed data, and a source wrapper that can hold pulls back to force interleavings.
 */
class DestinationDiskTest {
    private static final int CHUNK = 64 * 1024;
    private static final int CHUNKS = 8;
    private static final ChunkGeometry GEO = new ChunkGeometry((long) CHUNK * CHUNKS, CHUNK);

    @TempDir Path dir;
    private byte[] truth;
    private LocalFileBackend sourceFile;
    private LocalFileBackend store;
    private GatedSource source;

    @BeforeEach
    void images() throws IOException {
        truth = new byte[CHUNK * CHUNKS];
        new Random(42).nextBytes(truth);
        Files.write(dir.resolve("source.raw"), truth);
        byte[] stale = truth.clone();
        for (int i = 0; i < stale.length; i += 7) stale[i] ^= 0x5a;  // every chunk differs from the truth
        Files.write(dir.resolve("store.raw"), stale);
        sourceFile = LocalFileBackend.open(dir.resolve("source.raw"), true);
        store = LocalFileBackend.open(dir.resolve("store.raw"), false);
        source = new GatedSource(sourceFile);
    }

    @AfterEach
    void close() throws IOException {
        sourceFile.close();
        store.close();
    }

    private static RemainingSet remaining(int... hotness) {
        BitSet set = new BitSet();
        int[] counts = new int[CHUNKS];
        for (int c = 0; c < CHUNKS; c++) {
            if (hotness[c] >= 0) {
                set.set(c);
                counts[c] = hotness[c];
            }
        }
        return new RemainingSet(set, WriteCounts.of(counts));
    }

    private static byte[] read(BlockBackend b, long offset, int length) {
        ByteBuffer buf = ByteBuffer.allocate(length);
        b.read(offset, buf).orTimeout(10, TimeUnit.SECONDS).join();
        assertFalse(buf.hasRemaining());
        return buf.array();
    }

    private byte[] truth(long offset, int length) {
        return Arrays.copyOfRange(truth, (int) offset, (int) offset + length);
    }

    private static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void beforeHandOverReadsGoToTheSourceNotToStaleLocalData() {
        DestinationDisk disk = new DestinationDisk(GEO, store, ChunkSource.of(source));
        assertArrayEquals(truth(0, 512), read(disk, 0, 512), "QEMU's probe of sector 0");
        assertArrayEquals(truth(CHUNK - 100, 300), read(disk, CHUNK - 100, 300), "spanning two chunks");
    }

    @Test
    void fullChunkWriteBeforeHandOverIsKeptAndNotPulled() throws Exception {
        DestinationDisk disk = new DestinationDisk(GEO, store, ChunkSource.of(source));
        byte[] mine = pattern(CHUNK, 1);
        disk.write(2L * CHUNK, ByteBuffer.wrap(mine), false).get(10, TimeUnit.SECONDS);
        assertArrayEquals(mine, read(disk, 2L * CHUNK, CHUNK), "read back locally before the hand-over");
        PullQueue q = disk.handOver(remaining(0, 0, 5, 0, 0, 0, 0, 0));
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(source), store)) {
            puller.start(2).get(10, TimeUnit.SECONDS);
            assertEquals(7L * CHUNK, puller.bytesPulled());
        }
        byte[] expected = truth.clone();
        System.arraycopy(mine, 0, expected, 2 * CHUNK, CHUNK);
        assertArrayEquals(expected, read(store, 0, CHUNK * CHUNKS));
    }

    @Test
    void partialWriteBeforeHandOverWaitsForItThenForItsChunk() throws Exception {
        DestinationDisk disk = new DestinationDisk(GEO, store, ChunkSource.of(source));
        byte[] mine = pattern(100, 2);
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(source), store)) {
            disk.onDemand(puller::demanded);
            puller.start(0);      // no background pull: only the demand can bring chunk 3
            CompletableFuture<Void> w = disk.write(3L * CHUNK + 10, ByteBuffer.wrap(mine), false);
            assertFalse(w.isDone(), "must not write into a chunk whose other bytes may be stale");
            PullQueue q = disk.handOver(remaining(-1, -1, -1, 0, -1, -1, -1, -1));
            // the write was queued before the hand-over; it demands its chunk now
            w.get(10, TimeUnit.SECONDS);
            assertEquals(1, q.stats().pulledOnDemand() + q.stats().pulledBackground());
        }
        byte[] expected = truth(3L * CHUNK, CHUNK);
        System.arraycopy(mine, 0, expected, 10, 100);
        assertArrayEquals(expected, read(store, 3L * CHUNK, CHUNK));
    }

    @Test
    void readOfAMissingChunkAfterHandOverIsPulledOnDemandAndServed() throws Exception {
        DestinationDisk disk = new DestinationDisk(GEO, store, ChunkSource.of(source));
        PullQueue q = disk.handOver(remaining(9, 9, 9, 9, 9, 9, 9, 0));
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(source), store)) {
            disk.onDemand(puller::demanded);
            puller.start(0);
            assertArrayEquals(truth(7L * CHUNK + 5, 1000), read(disk, 7L * CHUNK + 5, 1000));
            assertEquals(1, q.stats().pulledOnDemand());
            assertEquals(0, q.stats().pulledBackground());
            assertFalse(q.isPresent(0), "nothing else was pulled");
        }
    }

    @Test
    void fullChunkWriteDuringItsPullWinsOverThePulledBytes() throws Exception {
        DestinationDisk disk = new DestinationDisk(GEO, store, ChunkSource.of(source));
        PullQueue q = disk.handOver(remaining(-1, 1, -1, -1, -1, -1, -1, -1));
        source.hold(1);
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(source), store)) {
            CompletableFuture<Void> done = puller.start(1);
            source.awaitHeld(1);                       // the pull of chunk 1 is on the wire
            byte[] mine = pattern(CHUNK, 3);
            disk.write(CHUNK, ByteBuffer.wrap(mine), false).get(10, TimeUnit.SECONDS);
            done.get(10, TimeUnit.SECONDS);            // complete by the guest's write alone
            source.release(1);                         // now the stale pulled bytes arrive
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (q.stats().discardedPulls() == 0 && System.nanoTime() < deadline) Thread.onSpinWait();
            assertEquals(1, q.stats().discardedPulls());
            assertArrayEquals(mine, read(store, CHUNK, CHUNK));
            assertArrayEquals(mine, read(disk, CHUNK, CHUNK));
        }
    }

    @Test
    void backgroundPullCompletesTheDiskByteForByte() throws Exception {
        DestinationDisk disk = new DestinationDisk(GEO, store, ChunkSource.of(source));
        PullQueue q = disk.handOver(remaining(0, 3, 1, 7, 0, 2, 0, 4));
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(source), store)) {
            disk.onDemand(puller::demanded);
            puller.start(2).get(10, TimeUnit.SECONDS);
        }
        assertTrue(q.isComplete());
        assertArrayEquals(truth, read(store, 0, CHUNK * CHUNKS));
        assertArrayEquals(truth, read(disk, 0, CHUNK * CHUNKS));
    }

    /**
     * A store with one write slot whose completion callbacks run while the slot is still held, as an
     * NBD client's reader completes a reply before the next request may go: a push must not hold the
     * disk's monitor while it waits for the slot, or the previous push's callback deadlocks with it.
     */
    @Test
    void pushesIntoAStoreWithBackpressureDoNotDeadlock() throws Exception {
        java.util.concurrent.Semaphore slot = new java.util.concurrent.Semaphore(1);
        BlockBackend slowStore = new GatedSource(store) {
            @Override public CompletableFuture<Void> write(long o, ByteBuffer s, boolean f) {
                slot.acquireUninterruptibly();
                CompletableFuture<Void> done = new CompletableFuture<>();
                Thread t = new Thread(() -> {
                    // complete only once the next write waits for the slot
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                    while (!slot.hasQueuedThreads() && System.nanoTime() < deadline) Thread.onSpinWait();
                    store.write(o, s, f).join();
                    done.complete(null);        // callbacks run here, slot still held
                    slot.release();
                });
                t.setDaemon(true);
                t.start();
                return done;
            }
        };
        DestinationDisk disk = new DestinationDisk(GEO, slowStore, ChunkSource.of(source));
        CompletableFuture<Void> pushes = CompletableFuture.runAsync(() -> {
            for (int c = 0; c < 3; c++) {
                disk.storePush((long) c * CHUNK, ByteBuffer.wrap(truth((long) c * CHUNK, CHUNK)));
            }
        });
        pushes.get(20, TimeUnit.SECONDS);
    }

    /**
     * The source pushes a rewritten chunk again before the first push is acknowledged: both are on their
     * way into the store at once unless the disk orders them. NBD does not order requests in flight, so a
     * store that finishes the first one last (as QEMU's export may) leaves the chunk's older bytes.
     */
    @Test
    void aSecondPushOfAChunkLandsAfterTheFirstEvenIfTheStoreWouldReorderThem() throws Exception {
        CountDownLatch firstHeld = new CountDownLatch(1);
        CountDownLatch releaseFirst = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger writesOfChunk1 = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger issuedWhileFirstHeld = new java.util.concurrent.atomic.AtomicInteger();
        BlockBackend reorderingStore = new GatedSource(store) {
            @Override public CompletableFuture<Void> write(long o, ByteBuffer s, boolean f) {
                if (o != CHUNK) return store.write(o, s, f);
                if (writesOfChunk1.incrementAndGet() > 1) {
                    if (releaseFirst.getCount() > 0) issuedWhileFirstHeld.incrementAndGet();
                    CompletableFuture<Void> landed = store.write(o, s, f);
                    releaseFirst.countDown();   // the later write landed: now the first one (a reordering store)
                    return landed;
                }
                firstHeld.countDown();
                return CompletableFuture.runAsync(() -> {
                    try {
                        assertTrue(releaseFirst.await(10, TimeUnit.SECONDS));
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }).thenCompose(v -> store.write(o, s, f));
            }
        };
        DestinationDisk disk = new DestinationDisk(GEO, reorderingStore, ChunkSource.of(source));
        byte[] older = pattern(CHUNK, 1);
        byte[] newer = pattern(CHUNK, 2);
        CompletableFuture<Void> first = disk.storePush(CHUNK, ByteBuffer.wrap(older));
        assertTrue(firstHeld.await(10, TimeUnit.SECONDS));
        CompletableFuture<Void> second = disk.storePush(CHUNK, ByteBuffer.wrap(newer));
        assertFalse(second.isDone(), "the second push waits for the first");
        releaseFirst.countDown();   // (with the bug, the second write has released it already)
        CompletableFuture.allOf(first, second).get(20, TimeUnit.SECONDS);
        assertEquals(0, issuedWhileFirstHeld.get(), "the second push reached the store while the first was in flight");
        assertArrayEquals(newer, read(store, CHUNK, CHUNK), "the chunk holds its newest push");
    }

    @Test
    void handOverTwiceIsRefused() {
        DestinationDisk disk = new DestinationDisk(GEO, store, ChunkSource.of(source));
        disk.handOver(remaining(-1, -1, -1, -1, -1, -1, -1, -1));
        assertThrows(IllegalStateException.class, () -> disk.handOver(remaining(-1, -1, -1, -1, -1, -1, -1, -1)));
    }

    /** The source, with reads of chosen chunks held until released (to order events in a test). */
    private static class GatedSource implements BlockBackend {
        private final BlockBackend inner;
        private final ConcurrentHashMap<Integer, CountDownLatch> gates = new ConcurrentHashMap<>();
        private final ConcurrentHashMap<Integer, CountDownLatch> arrived = new ConcurrentHashMap<>();

        GatedSource(BlockBackend inner) { this.inner = inner; }

        void hold(int chunk) {
            gates.put(chunk, new CountDownLatch(1));
            arrived.put(chunk, new CountDownLatch(1));
        }

        void awaitHeld(int chunk) throws InterruptedException {
            assertTrue(arrived.get(chunk).await(10, TimeUnit.SECONDS));
        }

        void release(int chunk) { gates.get(chunk).countDown(); }

        @Override public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
            int chunk = (int) (offset / CHUNK);
            CountDownLatch gate = gates.get(chunk);
            if (gate == null) return inner.read(offset, dst);
            arrived.get(chunk).countDown();
            return CompletableFuture.runAsync(() -> {
                try {
                    assertTrue(gate.await(10, TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }).thenCompose(v -> inner.read(offset, dst));
        }

        @Override public long size() { return inner.size(); }
        @Override public boolean readOnly() { return true; }
        @Override public BackendCapabilities capabilities() { return inner.capabilities(); }
        @Override public CompletableFuture<Void> write(long o, ByteBuffer s, boolean f) { return inner.write(o, s, f); }
        @Override public CompletableFuture<Void> writeZeroes(long o, long l, boolean t, boolean z, boolean f) { throw new UnsupportedOperationException(); }
        @Override public CompletableFuture<Void> trim(long o, long l, boolean f) { throw new UnsupportedOperationException(); }
        @Override public CompletableFuture<Void> flush() { return CompletableFuture.completedFuture(null); }
        @Override public CompletableFuture<List<Extent>> blockStatus(long o, long l, int m) { return inner.blockStatus(o, l, m); }
        @Override public void close() { }
    }

    /**
     * With reportAllocation (libvirt's block copy reads through it): a present chunk's hole in the store is zero,
     * a missing chunk is data whatever the store holds there, and before the hand-over the answer waits for it.
     */
    @Test
    void blockStatusReportsPresentHolesAsZeroAndMissingChunksAsData() throws Exception {
        Path sparse = dir.resolve("sparse.raw");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(sparse.toFile(), "rw")) {
            f.setLength((long) CHUNK * CHUNKS);   // all holes
        }
        try (LocalFileBackend holes = LocalFileBackend.open(sparse, false)) {
            DestinationDisk disk = new DestinationDisk(GEO, holes, ChunkSource.of(source));
            disk.holdReadsUntilHandover();
            disk.reportAllocation();
            assertTrue(disk.capabilities().blockStatus());
            CompletableFuture<List<Extent>> early = disk.blockStatus(0, (long) CHUNK * CHUNKS, 16);
            assertFalse(early.isDone(), "before the hand-over a pushed chunk may still be stale: the answer waits");
            disk.handOver(remaining(-1, -1, 3, 1, -1, -1, -1, -1));   // chunks 2 and 3 missing
            List<Extent> first = early.get(10, TimeUnit.SECONDS);
            assertEquals(List.of(new Extent(2L * CHUNK, io.vmmig.nbd.protocol.NbdReplyType.STATE_HOLE | io.vmmig.nbd.protocol.NbdReplyType.STATE_ZERO)),
                    first, "present chunks 0-1 are holes: zero");
            assertEquals(List.of(new Extent(2L * CHUNK, 0)), disk.blockStatus(2L * CHUNK, 6L * CHUNK, 16).get(10, TimeUnit.SECONDS),
                    "missing chunks 2-3 are data (the store's hole there is not the source's data)");
            List<Extent> tail = disk.blockStatus(4L * CHUNK, 4L * CHUNK, 16).get(10, TimeUnit.SECONDS);
            assertEquals(4L * CHUNK, tail.stream().mapToLong(Extent::length).sum());
            assertTrue(tail.stream().allMatch(e -> (e.flags() & io.vmmig.nbd.protocol.NbdReplyType.STATE_ZERO) != 0), tail.toString());
        }
    }

    @Test
    void withoutReportAllocationEverythingIsData() {
        DestinationDisk disk = new DestinationDisk(GEO, store, ChunkSource.of(source));
        assertFalse(disk.capabilities().blockStatus());
        assertEquals(List.of(new Extent((long) CHUNK * CHUNKS, 0)), disk.blockStatus(0, (long) CHUNK * CHUNKS, 16).join());
    }

    /**
     * The local data path: the disk is the local image's backing node. A missing chunk's read waits for its pull and
     * is answered from the pulled bytes (never from the stale store); anything present reads as zeros; a pulled chunk
     * enters the image by the store's CACHE, which reads it back through the disk as QEMU's copy-on-read does.
     */
    @Test
    void asBackingNodeMissingChunksComeFromThePullAndTheImageFillsByCopyOnRead() throws Exception {
        java.util.concurrent.atomic.AtomicLong storeReads = new java.util.concurrent.atomic.AtomicLong();
        DestinationDisk[] self = new DestinationDisk[1];
        BlockBackend image = new BlockBackend() {
            @Override public long size() { return store.size(); }
            @Override public boolean readOnly() { return false; }
            @Override public BackendCapabilities capabilities() { return store.capabilities(); }
            @Override public CompletableFuture<Void> read(long o, ByteBuffer d) { storeReads.incrementAndGet(); return store.read(o, d); }
            @Override public CompletableFuture<Void> write(long o, ByteBuffer s, boolean f) { return store.write(o, s, f); }
            @Override public CompletableFuture<Void> writeZeroes(long o, long l, boolean t, boolean z, boolean f) { return store.writeZeroes(o, l, t, z, f); }
            @Override public CompletableFuture<Void> trim(long o, long l, boolean f) { return store.trim(o, l, f); }
            @Override public CompletableFuture<Void> flush() { return store.flush(); }
            @Override public CompletableFuture<List<Extent>> blockStatus(long o, long l, int m) { return store.blockStatus(o, l, m); }
            @Override public void close() { }
            // QEMU's copy-on-read: the range is read from the backing node (the disk) and written into the image
            @Override public CompletableFuture<Void> cache(long o, long l) {
                ByteBuffer b = ByteBuffer.allocate((int) l);
                return self[0].read(o, b).thenCompose(v -> store.write(o, b.flip(), false));
            }
        };
        CompletableFuture<Void> attached = new CompletableFuture<>();
        DestinationDisk disk = new DestinationDisk(GEO, image, ChunkSource.of(source));
        self[0] = disk;
        ArrivedChunks arrived = new ArrivedChunks();
        disk.serveAsBacking(arrived);
        try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(source), image)) {
            puller.installByCopyOnRead(arrived, attached);
            disk.onDemand(puller::demanded);
            source.hold(3);
            puller.start(0);   // demands only
            disk.handOver(remaining(-1, 2, -1, 9, -1, -1, -1, -1));
            assertArrayEquals(new byte[512], read(disk, 0, 512), "a present chunk read as the backing node: zeros, not the store");
            CompletableFuture<byte[]> guest = CompletableFuture.supplyAsync(() -> read(disk, 3L * CHUNK + 100, 1000));
            source.awaitHeld(3);
            assertFalse(guest.isDone(), "the read of a missing chunk waits for its pull");
            source.release(3);
            assertArrayEquals(truth(3L * CHUNK + 100, 1000), guest.get(10, TimeUnit.SECONDS), "answered from the pulled bytes");
            attached.complete(null);   // the backing node is attached: the CACHE copies chunk 3 in
            CompletableFuture<byte[]> second = CompletableFuture.supplyAsync(() -> read(disk, 1L * CHUNK, CHUNK));
            assertArrayEquals(truth(1L * CHUNK, CHUNK), second.get(10, TimeUnit.SECONDS));
            disk.handover().join().completion().get(10, TimeUnit.SECONDS);
        }
        assertArrayEquals(truth(3L * CHUNK, CHUNK), read(store, 3L * CHUNK, CHUNK), "chunk 3 in the image by copy-on-read");
        assertArrayEquals(truth(1L * CHUNK, CHUNK), read(store, 1L * CHUNK, CHUNK), "chunk 1 too");
        assertEquals(0, storeReads.get(), "the backing node never reads the image it backs");
        assertArrayEquals(new byte[CHUNK], read(disk, 3L * CHUNK, CHUNK), "an installed chunk is the image's now: zeros here");
    }
}
