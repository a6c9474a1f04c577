package io.vmmig.strategy.hybrid;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.destination.DestinationDiskTransfer;
import io.vmmig.strategy.peer.SocketPeerChannel;
import io.vmmig.strategy.source.SourceDiskTransfer;
import io.vmmig.strategy.source.SourceOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Source and destination halves of the hybrid transfer over a real TCP connection on loopback, with
 * files as disks and the test playing the guest and the dirty-bitmap epochs. No QEMU: the engine's
 * own logic, byte for byte.
 */
class HybridTransferTest {
    private static final int CHUNK = 64 * 1024;
    private static final int CHUNKS = 64;
    private static final ChunkGeometry GEO = new ChunkGeometry((long) CHUNK * CHUNKS, CHUNK);

    @TempDir Path dir;
    private LocalFileBackend sourceDisk;
    private LocalFileBackend store;
    private SourceDiskTransfer src;
    private DestinationDiskTransfer dst;
    private final Random rnd = new Random(99);
    private BitSet allocated;

    @BeforeEach
    void setUp() throws IOException {
        byte[] image = new byte[CHUNK * CHUNKS];
        allocated = new BitSet();
        for (int c = 0; c < CHUNKS; c++) {
            if (c % 4 == 3) continue;                  // unallocated: zeros, never read
            allocated.set(c);
            if (c % 4 == 2) continue;                  // allocated but all zero: elided
            byte[] data = new byte[CHUNK];
            rnd.nextBytes(data);
            System.arraycopy(data, 0, image, c * CHUNK, CHUNK);
        }
        Files.write(dir.resolve("source.raw"), image);
        try (var f = java.nio.channels.FileChannel.open(dir.resolve("target.raw"),
                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            f.truncate(0);
            f.position(image.length - 1).write(ByteBuffer.wrap(new byte[1]));
        }
        sourceDisk = LocalFileBackend.open(dir.resolve("source.raw"), false);
        store = LocalFileBackend.open(dir.resolve("target.raw"), false);

        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            SocketPeerChannel srcChannel = SocketPeerChannel.connect(server.getLocalAddress());
            SocketChannel accepted = server.accept();
            dst = new DestinationDiskTransfer(GEO, store, new SocketPeerChannel(accepted), 2);
            dst.start();
            src = new SourceDiskTransfer(GEO, sourceDisk, allocated, srcChannel,
                    new SourceOptions(2, 4, 1 << 20, false, true));
        }
    }

    @AfterEach
    void tearDown() throws IOException {
        if (src != null) src.close();
        if (dst != null) dst.close();
        sourceDisk.close();
        store.close();
    }

    private BitSet guestWrites(int... chunks) {
        BitSet dirty = new BitSet();
        for (int c : chunks) {
            byte[] data = new byte[CHUNK];
            rnd.nextBytes(data);
            sourceDisk.write((long) c * CHUNK, ByteBuffer.wrap(data), false).join();
            dirty.set(c);
        }
        return dirty;
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            synchronized (condition) {
                condition.wait(5);
            }
        }
    }

    private byte[] readAll(io.vmmig.nbd.backend.BlockBackend b) {
        ByteBuffer buf = ByteBuffer.allocate(CHUNK * CHUNKS);
        b.read(0, buf).join();
        return buf.array();
    }

    @Test
    void aHeldPushSendsNothingNewUntilReleasedThenCatchesUp() throws Exception {
        src.holdPushUntil(System.nanoTime() + TimeUnit.SECONDS.toNanos(30));
        src.start();
        // a negative: nothing may cross during the hold (the time the unheld push needs for all 32 chunks is ~10 ms here)
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(400);
        while (System.nanoTime() < until) {
            assertEquals(0, src.counters().pushedChunks.get(), "a chunk was pushed during the hold");
            assertEquals(0, src.inFlightBytes());
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
        src.holdPushUntil(0);
        await("the push after the hold", src::caughtUp);
        assertEquals(32, src.counters().pushedChunks.get());
    }

    @Test
    void pushThenCutoverThenPullGivesTheSameBytesAndRespectsTheThreshold() throws Exception {
        src.start();
        await("initial push", src::caughtUp);
        assertEquals(16L * CHUNK, src.counters().zeroSkippedBytes.get(), "16 allocated all-zero chunks elided");
        assertEquals(16L * CHUNK, src.counters().unallocatedBytes.get());
        assertEquals(32, src.counters().pushedChunks.get(), "only chunks with data crossed");

        // A hot chunk rewritten every epoch: pushed again until the threshold (2), then held back.
        for (int epoch = 0; epoch < 4; epoch++) {
            src.onEpoch(guestWrites(0, 5));
            await("epoch push", src::caughtUp);
        }
        assertEquals(2, src.scheduler().hotCount(), "chunks 0 and 5 are hot");
        long pushedBefore = src.counters().pushedChunks.get();
        assertTrue(pushedBefore <= 32 + 2 * 2, "a hot chunk crossed at most threshold times: " + pushedBefore);

        // Pause: last writes, then the hand-over. Chunk 7 (never pushed: unallocated) and 9 rewritten.
        BitSet last = guestWrites(7, 9, 0);
        RemainingSet rs = src.cutover(last, Duration.ofSeconds(20));
        BitSet expectedRemaining = new BitSet();
        for (int c : new int[] {0, 5, 7, 9}) expectedRemaining.set(c);
        assertEquals(expectedRemaining, rs.chunks());
        assertEquals(5, rs.counts().get(0), "4 epochs + the final one");

        // The destination guest reads a chunk that was never pushed right away: correct bytes (on demand
        // or already pulled in the background; DestinationDiskTest pins the on-demand path itself).
        ByteBuffer probe = ByteBuffer.allocate(100);
        dst.disk().read(7L * CHUNK + 10, probe).get(20, TimeUnit.SECONDS);
        ByteBuffer truth = ByteBuffer.allocate(100);
        sourceDisk.read(7L * CHUNK + 10, truth).join();
        assertArrayEquals(truth.array(), probe.array());

        dst.complete().get(20, TimeUnit.SECONDS);
        src.finished().get(20, TimeUnit.SECONDS);
        assertArrayEquals(readAll(sourceDisk), readAll(store), "destination image equals the source");
        assertEquals(4, dst.pullStats().pulledOnDemand() + dst.pullStats().pulledBackground());
    }

    @Test
    void destinationGuestWriteAfterCutoverIsNotUndoneByThePull() throws Exception {
        src.start();
        await("initial push", src::caughtUp);
        BitSet last = guestWrites(1, 4);
        src.cutover(last, Duration.ofSeconds(20));
        byte[] mine = new byte[CHUNK];
        rnd.nextBytes(mine);
        dst.disk().write(4L * CHUNK, ByteBuffer.wrap(mine), false).get(20, TimeUnit.SECONDS);
        dst.complete().get(20, TimeUnit.SECONDS);
        byte[] expected = readAll(sourceDisk);
        System.arraycopy(mine, 0, expected, 4 * CHUNK, CHUNK);
        assertArrayEquals(expected, readAll(store));
    }

    @Test
    void cancelBeforeCutoverReachesTheDestination() throws Exception {
        src.start();
        src.cancel("operator pressed Ctrl-C");
        var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> dst.complete().get(20, TimeUnit.SECONDS));
        assertTrue(dst.cancelled(), "the destination got the CANCEL: " + e.getCause());
        assertTrue(e.getCause().getMessage().contains("operator pressed Ctrl-C"), e.getCause().toString());
    }
}
