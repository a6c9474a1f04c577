package io.vmmig.strategy.hybrid;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.destination.DestinationDiskTransfer;
import io.vmmig.strategy.peer.SocketPeerChannel;
import io.vmmig.strategy.source.SourceDiskTransfer;
import io.vmmig.strategy.source.SourceOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pull after the hand-over survives a cut connection: nothing fails or closes while it is down
 * (a guest read of a missing chunk waits), and on a new connection the destination resumes (RESUME,
 * its unanswered pulls again) and completes with the source's bytes, no chunk fetched twice.
 */
class PullResumeTest {
    private static final int CHUNK = 64 * 1024;
    private static final int CHUNKS = 64;
    private static final ChunkGeometry GEO = new ChunkGeometry((long) CHUNK * CHUNKS, CHUNK);

    @TempDir Path dir;
    private LocalFileBackend sourceDisk;
    private LocalFileBackend store;
    private SourceDiskTransfer src;
    private DestinationDiskTransfer dst;
    private SocketPeerChannel srcChannel;
    private final Random rnd = new Random(7);

    @BeforeEach
    void setUp() throws IOException {
        byte[] image = new byte[CHUNK * CHUNKS];
        rnd.nextBytes(image);
        Files.write(dir.resolve("source.raw"), image);
        Files.write(dir.resolve("target.raw"), new byte[CHUNK * CHUNKS]);
        sourceDisk = LocalFileBackend.open(dir.resolve("source.raw"), false);
        store = LocalFileBackend.open(dir.resolve("target.raw"), false);
    }

    @AfterEach
    void tearDown() throws IOException {
        if (src != null) src.close();
        if (dst != null) dst.close();
        sourceDisk.close();
        store.close();
    }

    /** A connected pair: [source side, destination side]. */
    private static SocketPeerChannel[] pair() throws IOException {
        try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            SocketPeerChannel a = SocketPeerChannel.connect(server.getLocalAddress());
            return new SocketPeerChannel[] {a, new SocketPeerChannel(server.accept())};
        }
    }

    @Test
    void aCutAfterTheHandOverWaitsAndResumesWithoutFetchingAChunkTwice() throws Exception {
        SocketPeerChannel[] first = pair();
        srcChannel = first[0];
        // background pull held back 1 s: the cut comes while every chunk is still missing
        dst = new DestinationDiskTransfer(GEO, store, first[1], 2, Duration.ofSeconds(1));
        CountDownLatch lost = new CountDownLatch(1);
        dst.onLinkLost(lost::countDown);
        dst.start();
        src = new SourceDiskTransfer(GEO, sourceDisk, new BitSet(), srcChannel, new SourceOptions(2, 4, 1 << 20, false, true).withPush(false));
        src.start();
        BitSet all = new BitSet();
        all.set(0, CHUNKS);
        src.cutover(all, Duration.ofSeconds(20));    // post-copy like: every chunk remains
        waitFor(() -> dst.pullStats() != null);

        srcChannel.close();                           // the link breaks
        assertTrue(lost.await(20, TimeUnit.SECONDS), "the destination noticed the cut");
        assertFalse(dst.connected());
        assertFalse(dst.complete().isDone(), "a cut after the hand-over is no failure");
        assertFalse(src.finished().isDone(), "nor at the source");

        ByteBuffer probe = ByteBuffer.allocate(4096);
        CompletableFuture<Void> read = dst.disk().read(9L * CHUNK + 100, probe);
        Thread.sleep(1500);                           // past the background delay too: nothing moves while cut
        assertFalse(read.isDone(), "a guest read of a missing chunk waits while the link is down");

        SocketPeerChannel[] second = pair();
        src.resumeOn(second[0]);
        dst.resume(second[1]);
        read.get(20, TimeUnit.SECONDS);
        dst.complete().get(30, TimeUnit.SECONDS);
        src.finished().get(30, TimeUnit.SECONDS);

        ByteBuffer truth = ByteBuffer.allocate(CHUNK * CHUNKS);
        sourceDisk.read(0, truth).join();
        ByteBuffer got = ByteBuffer.allocate(CHUNK * CHUNKS);
        store.read(0, got).join();
        assertArrayEquals(truth.array(), got.array(), "the destination holds the source's bytes");
        assertArrayEquals(java.util.Arrays.copyOfRange(truth.array(), 9 * CHUNK + 100, 9 * CHUNK + 100 + 4096), probe.array());
        assertEquals(0, dst.puller().refetchedChunks(), "no chunk fetched twice");
        assertEquals(CHUNKS, dst.puller().fetchedChunks());
        assertEquals(1, dst.resumes());
        assertEquals(1, src.resumes());
        assertTrue(dst.doneDelivered());
    }

    private static void waitFor(java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out");
            Thread.sleep(5);
        }
    }
}
