package io.vmmig.strategy.destination;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.WriteCounts;
import io.vmmig.strategy.source.PushBandwidth;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two disks' pullers (a libvirt domain's disks, each pulled on its own connection) drawing on one background
 * budget together keep to it: 2 x 16 chunks of 64 KiB at 1 MiB/s take about 2 s, where a bucket each would take 1 s.
 */
class ChunkPullerSharedBudgetTest {
    private static final int CHUNK = 64 * 1024;
    private static final int CHUNKS = 16;
    private static final ChunkGeometry GEO = new ChunkGeometry((long) CHUNK * CHUNKS, CHUNK);

    @TempDir Path dir;

    @Test
    void twoPullersSharingOneBudgetTogetherKeepIt() throws Exception {
        PushBandwidth shared = new PushBandwidth(1L << 20);
        byte[][] truth = new byte[2][CHUNK * CHUNKS];
        LocalFileBackend[] sources = new LocalFileBackend[2];
        LocalFileBackend[] stores = new LocalFileBackend[2];
        ChunkPuller[] pullers = new ChunkPuller[2];
        try {
            CompletableFuture<?>[] done = new CompletableFuture<?>[2];
            long t0 = System.nanoTime();
            for (int i = 0; i < 2; i++) {
                new Random(11 + i).nextBytes(truth[i]);
                Files.write(dir.resolve("source" + i), truth[i]);
                Files.write(dir.resolve("store" + i), new byte[CHUNK * CHUNKS]);
                sources[i] = LocalFileBackend.open(dir.resolve("source" + i), true);
                stores[i] = LocalFileBackend.open(dir.resolve("store" + i), false);
                DestinationDisk disk = new DestinationDisk(GEO, stores[i], ChunkSource.of(sources[i]));
                pullers[i] = new ChunkPuller(GEO, disk.handover(), ChunkSource.of(sources[i]), stores[i]);
                pullers[i].limitBackground(shared);
                done[i] = pullers[i].start(2);
                BitSet all = new BitSet();
                all.set(0, CHUNKS);
                disk.handOver(new RemainingSet(all, new WriteCounts(CHUNKS)));
            }
            CompletableFuture.allOf(done).get(60, TimeUnit.SECONDS);
            long millis = (System.nanoTime() - t0) / 1_000_000;
            // (32 - 1) chunks' worth of debt at 1 MiB/s: 1.94 s; a bucket per puller: (16 - 1) / 16 s = 0.94 s
            assertTrue(millis >= 1_500, "2 x 1 MiB pulled under one 1 MiB/s budget in " + millis + " ms");
            for (int i = 0; i < 2; i++) {
                ByteBuffer got = ByteBuffer.allocate(CHUNK * CHUNKS);
                stores[i].read(0, got).get(10, TimeUnit.SECONDS);
                assertArrayEquals(truth[i], got.array(), "disk " + i);
            }
        } finally {
            for (int i = 0; i < 2; i++) {
                if (pullers[i] != null) pullers[i].close();
                if (stores[i] != null) stores[i].close();
                if (sources[i] != null) sources[i].close();
            }
        }
    }
}
