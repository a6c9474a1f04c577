package io.vmmig.strategy.hybrid;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.dedup.ChunkIndex;
import io.vmmig.strategy.dedup.FingerprintIndex;
import io.vmmig.strategy.dedup.LocalChunkMatcher;
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
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hybrid transfer with dedup (seed 003) over loopback TCP, files as disks: the destination holds a
 * neighbour image with half of the source's chunks (at other offsets); pushed chunks it holds are
 * copied locally, only the others cross, and the destination ends with the source's bytes.
 */
class DedupTransferTest {
    private static final int CHUNK = 64 * 1024;
    private static final int CHUNKS = 48;
    private static final int SHARED = 24;     // chunks 0..23 are also in the neighbour image
    private static final int UNIQUE = 16;     // chunks 24..39 only at the source; 40..47 zero
    private static final ChunkGeometry GEO = new ChunkGeometry((long) CHUNK * CHUNKS, CHUNK);

    @TempDir Path dir;
    private LocalFileBackend sourceDisk;
    private LocalFileBackend store;
    private SourceDiskTransfer src;
    private DestinationDiskTransfer dst;
    private FingerprintIndex index;
    private final Random rnd = new Random(42);
    private byte[] image;

    /** An index that first offers a wrong candidate for every fingerprint (as a colliding key prefix would). */
    private static final class CollidingIndex implements ChunkIndex {
        private final ChunkIndex real;
        CollidingIndex(ChunkIndex real) { this.real = real; }
        @Override public int chunkSize() { return real.chunkSize(); }
        @Override public boolean readCandidates(byte[] sha256, ByteBuffer dst, Predicate<ByteBuffer> accept) throws IOException {
            dst.clear();
            byte[] bogus = new byte[dst.remaining()];
            new Random(sha256[0]).nextBytes(bogus);
            dst.put(bogus).flip();
            if (accept.test(dst)) return true;
            return real.readCandidates(sha256, dst, accept);
        }
    }

    private LocalChunkMatcher setUp(boolean colliding) throws IOException {
        return setUp(colliding, true, Duration.ZERO);
    }

    private LocalChunkMatcher setUp(boolean colliding, boolean push, Duration backgroundPullDelay) throws IOException {
        return setUp(colliding, push, backgroundPullDelay, CHUNK);
    }

    private LocalChunkMatcher setUp(boolean colliding, boolean push, Duration backgroundPullDelay, int piece) throws IOException {
        image = new byte[CHUNK * CHUNKS];
        rnd.nextBytes(image);
        java.util.Arrays.fill(image, (SHARED + UNIQUE) * CHUNK, CHUNKS * CHUNK, (byte) 0);
        Files.write(dir.resolve("source.raw"), image);
        // The neighbour: the shared chunks shuffled, between chunks of its own.
        List<Integer> order = new ArrayList<>();
        for (int c = 0; c < SHARED; c++) order.add(c);
        Collections.shuffle(order, new Random(1));
        byte[] neighbour = new byte[CHUNK * (SHARED * 2 + 1)];
        rnd.nextBytes(neighbour);
        for (int i = 0; i < SHARED; i++) System.arraycopy(image, order.get(i) * CHUNK, neighbour, (2 * i + 1) * CHUNK, CHUNK);
        // and the first half of chunk 30 (unique otherwise), the rest of that slot its own
        System.arraycopy(image, 30 * CHUNK, neighbour, 2 * SHARED * CHUNK, CHUNK / 2);
        Path images = Files.createDirectories(dir.resolve("neighbours"));
        Files.write(images.resolve("neighbour.raw"), neighbour);
        Files.setLastModifiedTime(images.resolve("neighbour.raw"), FileTime.fromMillis(System.currentTimeMillis() - 60_000));
        index = FingerprintIndex.open(dir.resolve("index"), piece, List.of(images), Duration.ZERO);
        index.refresh();
        LocalChunkMatcher matcher = new LocalChunkMatcher(colliding ? new CollidingIndex(index) : index);

        try (var f = java.nio.channels.FileChannel.open(dir.resolve("target.raw"),
                java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE)) {
            f.position(image.length - 1).write(ByteBuffer.wrap(new byte[1]));
        }
        sourceDisk = LocalFileBackend.open(dir.resolve("source.raw"), false);
        store = LocalFileBackend.open(dir.resolve("target.raw"), false);
        BitSet allocated = new BitSet();
        allocated.set(0, CHUNKS);
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            SocketPeerChannel srcChannel = SocketPeerChannel.connect(server.getLocalAddress());
            SocketChannel accepted = server.accept();
            dst = new DestinationDiskTransfer(GEO, store, new SocketPeerChannel(accepted), 2, backgroundPullDelay);
            dst.dedupFrom(matcher);
            dst.start();
            src = new SourceDiskTransfer(GEO, sourceDisk, allocated, srcChannel,
                    new SourceOptions(2, 4, 1 << 20, false, true).withDedup(piece).withPush(push));
        }
        return matcher;
    }

    @AfterEach
    void tearDown() throws IOException {
        if (src != null) src.close();
        if (dst != null) dst.close();
        if (sourceDisk != null) sourceDisk.close();
        if (store != null) store.close();
        if (index != null) index.close();
    }

    private void write(int chunk, byte[] data) {
        sourceDisk.write((long) chunk * CHUNK, ByteBuffer.wrap(data), false).join();
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
    void sharedChunksAreCopiedLocallyAndOnlyTheOthersCross() throws Exception {
        LocalChunkMatcher matcher = setUp(false);
        src.start();
        await("initial push", src::caughtUp);
        assertEquals((long) SHARED * CHUNK, src.counters().dedupBytes.get(), "every shared chunk copied at the destination");
        assertEquals((long) SHARED * CHUNK, dst.dedupBytes());
        assertEquals(UNIQUE, src.counters().pushedChunks.get(), "only the chunks the neighbour lacks crossed");
        assertEquals(SHARED + UNIQUE, src.counters().fingerprintedChunks.get());

        // Epoch: a deduplicated chunk rewritten with new bytes (a miss now) and a unique one rewritten
        // with bytes the neighbour has (a hit now).
        byte[] fresh = new byte[CHUNK];
        rnd.nextBytes(fresh);
        write(3, fresh);
        write(30, java.util.Arrays.copyOfRange(image, 7 * CHUNK, 8 * CHUNK));
        BitSet dirty = new BitSet();
        dirty.set(3);
        dirty.set(30);
        src.onEpoch(dirty);
        await("epoch push", () -> src.caughtUp() && src.counters().fingerprintedChunks.get() == SHARED + UNIQUE + 2);
        assertEquals((long) (SHARED + 1) * CHUNK, src.counters().dedupBytes.get());
        assertEquals(UNIQUE + 1, src.counters().pushedChunks.get());

        BitSet last = new BitSet();
        rnd.nextBytes(fresh);
        write(5, fresh);
        last.set(5);
        src.cutover(last, Duration.ofSeconds(20));
        dst.complete().get(20, TimeUnit.SECONDS);
        src.finished().get(20, TimeUnit.SECONDS);
        assertArrayEquals(readAll(sourceDisk), readAll(store), "destination image equals the source");
        assertEquals(0, matcher.rejected());
    }

    @Test
    void aCandidateWithTheWrongBytesIsRejectedAndTheRealDataIsSent() throws Exception {
        LocalChunkMatcher matcher = setUp(true);
        src.start();
        await("initial push", src::caughtUp);
        assertEquals(SHARED + UNIQUE, matcher.rejected(), "every fingerprint's bogus candidate was read and refused");
        assertEquals((long) SHARED * CHUNK, dst.dedupBytes(), "the real local copies still found after the bogus ones");
        assertEquals(UNIQUE, src.counters().pushedChunks.get(), "chunks without a verified match crossed");
        src.cutover(new BitSet(), Duration.ofSeconds(20));
        dst.complete().get(20, TimeUnit.SECONDS);
        assertArrayEquals(readAll(sourceDisk), readAll(store), "no bogus bytes reached the destination image");
    }

    @Test
    void afterTheHandOverMissingChunksFoundLocallyAreInstalledInsteadOfPulled() throws Exception {
        // Post-copy: nothing pushed, everything handed over. The background pull waits a minute, so the
        // fingerprints of the remaining chunks (sent right after REMAINING) decide alone.
        setUp(false, false, Duration.ofMinutes(1));
        src.start();
        src.cutover(new BitSet(), Duration.ofSeconds(20));
        await("local copies after the hand-over", () -> dst.dedupBytes() == (long) SHARED * CHUNK);
        assertEquals(0, dst.pulledBytes(), "nothing pulled yet: the shared chunks came from the neighbour");
        // The guest reads the whole disk: the chunks the neighbour lacks are pulled on demand.
        ByteBuffer all = ByteBuffer.allocate(CHUNK * CHUNKS);
        dst.disk().read(0, all).get(20, TimeUnit.SECONDS);
        dst.complete().get(20, TimeUnit.SECONDS);
        src.finished().get(20, TimeUnit.SECONDS);
        assertArrayEquals(readAll(sourceDisk), all.array(), "the guest read the source's bytes");
        assertArrayEquals(readAll(sourceDisk), readAll(store));
        assertEquals((long) (CHUNKS - SHARED) * CHUNK, dst.pulledBytes(), "unique and zero chunks pulled, shared ones not");
        await("the source counted the HAVEs", () -> src.counters().dedupBytes.get() == (long) SHARED * CHUNK);
        assertEquals(SHARED + UNIQUE, src.counters().fingerprintedChunks.get(), "zero chunks are not fingerprinted");
    }

    @Test
    void piecesSmallerThanTheChunkDedupPartOfAChunk() throws Exception {
        // The destination's index is at 16 KiB, the transfer chunk 64 KiB: the source fingerprints four
        // pieces a chunk; the neighbour holds the first half of chunk 30, so two of its pieces are copied.
        int piece = CHUNK / 4;
        setUp(false, true, Duration.ZERO, piece);
        src.start();
        await("initial push", src::caughtUp);
        assertEquals((long) SHARED * CHUNK + CHUNK / 2, src.counters().dedupBytes.get());
        assertEquals((long) UNIQUE * CHUNK - CHUNK / 2, src.counters().pushedBytes.get(), "only the missing pieces crossed");
        assertEquals((SHARED + UNIQUE) * 4, src.counters().fingerprintedChunks.get());
        src.cutover(new BitSet(), Duration.ofSeconds(20));
        dst.complete().get(20, TimeUnit.SECONDS);
        assertArrayEquals(readAll(sourceDisk), readAll(store));
    }
}
