package io.vmmig.strategy.destination;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.PullQueue;
import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.WriteCounts;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The background pull delay: demands are pulled at once, the background loops only after the delay. */
class ChunkPullerDelayTest {
    private static final int CHUNK = 64 * 1024;
    private static final int CHUNKS = 8;
    private static final ChunkGeometry GEO = new ChunkGeometry((long) CHUNK * CHUNKS, CHUNK);

    @TempDir Path dir;

    @Test
    void demandsArePulledAtOnceAndTheBackgroundOnlyAfterTheDelay() throws Exception {
        byte[] truth = new byte[CHUNK * CHUNKS];
        new Random(7).nextBytes(truth);
        Files.write(dir.resolve("source.raw"), truth);
        Files.write(dir.resolve("store.raw"), new byte[CHUNK * CHUNKS]);
        try (LocalFileBackend source = LocalFileBackend.open(dir.resolve("source.raw"), true);
             LocalFileBackend store = LocalFileBackend.open(dir.resolve("store.raw"), false)) {
            DestinationDisk disk = new DestinationDisk(GEO, store, ChunkSource.of(source));
            BitSet all = new BitSet();
            all.set(0, CHUNKS);
            try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(source), store)) {
                disk.onDemand(puller::demanded);
                CompletableFuture<Void> done = puller.start(2, Duration.ofSeconds(3));
                PullQueue q = disk.handOver(new RemainingSet(all, new WriteCounts(CHUNKS)));

                ByteBuffer got = ByteBuffer.allocate(100);
                disk.read(5L * CHUNK + 10, got).get(1, TimeUnit.SECONDS);   // well inside the delay
                assertArrayEquals(java.util.Arrays.copyOfRange(truth, 5 * CHUNK + 10, 5 * CHUNK + 110), got.array());
                PullQueue.PullStats s = q.stats();
                assertEquals(1, s.pulledOnDemand());
                assertEquals(0, s.pulledBackground(), "background pull started before its delay");
                assertFalse(done.isDone());

                done.get(10, TimeUnit.SECONDS);                            // the delay passes, the rest arrives
                assertEquals(CHUNKS - 1, q.stats().pulledBackground());
            }
            ByteBuffer all2 = ByteBuffer.allocate(CHUNK * CHUNKS);
            store.read(0, all2).get(10, TimeUnit.SECONDS);
            assertArrayEquals(truth, all2.array());
        }
    }

    @Test
    void oneReadSpanningSeveralMissingChunksGetsThemAllWithoutTheBackground() throws Exception {
        byte[] truth = new byte[CHUNK * CHUNKS];
        new Random(8).nextBytes(truth);
        Files.write(dir.resolve("source.raw"), truth);
        Files.write(dir.resolve("store.raw"), new byte[CHUNK * CHUNKS]);
        try (LocalFileBackend source = LocalFileBackend.open(dir.resolve("source.raw"), true);
             LocalFileBackend store = LocalFileBackend.open(dir.resolve("store.raw"), false)) {
            DestinationDisk disk = new DestinationDisk(GEO, store, ChunkSource.of(source));
            BitSet all = new BitSet();
            all.set(0, CHUNKS);
            try (ChunkPuller puller = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(source), store)) {
                disk.onDemand(puller::demanded);
                puller.start(2, Duration.ofMinutes(10));       // the background never runs in this test
                PullQueue q = disk.handOver(new RemainingSet(all, new WriteCounts(CHUNKS)));
                ByteBuffer got = ByteBuffer.allocate(3 * CHUNK + 200);
                disk.read(2L * CHUNK - 100, got).get(5, TimeUnit.SECONDS);  // chunks 1..5, signalled once
                assertArrayEquals(java.util.Arrays.copyOfRange(truth, 2 * CHUNK - 100, 5 * CHUNK + 100), got.array());
                assertEquals(5, q.stats().pulledOnDemand());
                assertEquals(0, q.stats().pulledBackground());
            }
        }
    }

    @Test
    void rejectsANegativeDelay() {
        try (ChunkPuller puller = new ChunkPuller(GEO, new CompletableFuture<>(), (o, d, p) -> null, null)) {
            assertThrows(IllegalArgumentException.class, () -> puller.start(1, Duration.ofMillis(-1)));
        }
    }
}
