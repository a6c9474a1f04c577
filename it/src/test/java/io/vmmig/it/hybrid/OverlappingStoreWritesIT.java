package io.vmmig.it.hybrid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.it.migration.QemuImg;
import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.client.NbdClientOptions;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.destination.ChunkSource;
import io.vmmig.strategy.destination.DestinationDisk;
import io.vmmig.strategy.qemu.NbdExportBackend;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two pushes of one chunk in flight at once, against a real store ({@code qemu-nbd} on a qcow2, as the
 * destination QEMU's loopback export is): sent raw through vmmig's {@link NbdClient}, two writes of the
 * same range in flight may land in either order (NBD does not order them; this prints how often the older
 * one won); sent through {@link DestinationDisk#storePush}, the newer push always wins.
 */
class OverlappingStoreWritesIT {
    private static final int CHUNK = 256 * 1024;
    private static final int CHUNKS = 64;
    private static final int ROUNDS = 8;

    @TempDir
    Path dir;

    private static byte[] pattern(long seed) {
        byte[] b = new byte[CHUNK];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void theNewerPushOfAChunkWinsInARealStore() throws Exception {
        Path store = dir.resolve("store.qcow2");
        QemuImg.run(List.of("qemu-img", "create", "-q", "-f", "qcow2", store.toString(), Long.toString((long) CHUNK * CHUNKS)));
        Path sock = dir.resolve("store.sock");
        Process nbd = new ProcessBuilder("qemu-nbd", "--format=qcow2", "--socket=" + sock, "--export-name=store",
                "--shared=2", "--persistent", store.toString()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        try {
            io.vmmig.it.migration.Poll.until("qemu-nbd to open " + sock, java.time.Duration.ofSeconds(60),
                    () -> Files.exists(sock) || !nbd.isAlive());
            assertTrue(nbd.isAlive(), "qemu-nbd exited before opening " + sock);
            try (NbdClient client = NbdClient.connect(sock, NbdClientOptions.of("store"))) {
                NbdExportBackend backend = new NbdExportBackend(client);
                int olderWonRaw = 0;
                for (int round = 0; round < ROUNDS; round++) {
                    List<CompletableFuture<Void>> all = new ArrayList<>();
                    for (int c = 0; c < CHUNKS; c++) {
                        all.add(client.write((long) c * CHUNK, ByteBuffer.wrap(pattern(round * 1000L + c)), false));
                        all.add(client.write((long) c * CHUNK, ByteBuffer.wrap(pattern(round * 1000L + c + 500)), false));
                    }
                    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
                    for (int c = 0; c < CHUNKS; c++) {
                        ByteBuffer back = ByteBuffer.allocate(CHUNK);
                        NbdClient.await(client.read((long) c * CHUNK, back));
                        if (!Arrays.equals(back.array(), pattern(round * 1000L + c + 500))) olderWonRaw++;
                    }
                }
                DestinationDisk disk = new DestinationDisk(new ChunkGeometry((long) CHUNK * CHUNKS, CHUNK), backend,
                        ChunkSource.of(backend));
                int olderWonPushed = 0;
                for (int round = 0; round < ROUNDS; round++) {
                    List<CompletableFuture<Void>> all = new ArrayList<>();
                    for (int c = 0; c < CHUNKS; c++) {
                        all.add(disk.storePush((long) c * CHUNK, ByteBuffer.wrap(pattern(round * 7000L + c))));
                        all.add(disk.storePush((long) c * CHUNK, ByteBuffer.wrap(pattern(round * 7000L + c + 500))));
                    }
                    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
                    for (int c = 0; c < CHUNKS; c++) {
                        ByteBuffer back = ByteBuffer.allocate(CHUNK);
                        NbdClient.await(client.read((long) c * CHUNK, back));
                        if (!Arrays.equals(back.array(), pattern(round * 7000L + c + 500))) olderWonPushed++;
                    }
                }
                System.out.printf("OVERLAPPING-WRITES %d pairs of one chunk in flight: the older write won %d times sent raw,"
                        + " %d times through storePush; load %s%n", ROUNDS * CHUNKS, olderWonRaw, olderWonPushed,
                        Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
                assertTrue(olderWonPushed == 0, olderWonPushed + " chunks kept an older push");
            }
        } finally {
            nbd.destroy();
            nbd.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
