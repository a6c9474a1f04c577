package io.vmmig.it.hybrid;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.it.migration.QemuImg;
import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.client.NbdClientOptions;
import io.vmmig.nbd.server.NbdExport;
import io.vmmig.nbd.server.NbdServer;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.WriteCounts;
import io.vmmig.strategy.destination.ChunkPuller;
import io.vmmig.strategy.destination.ChunkSource;
import io.vmmig.strategy.destination.DestinationDisk;
import io.vmmig.strategy.peer.Frame.Priority;
import io.vmmig.strategy.qemu.NbdExportBackend;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The destination's guest I/O path while the pull is stalled, without a guest or TCG in it: the real
 * destination path (the agent's {@link NbdServer} serving a {@link DestinationDisk}, a {@link ChunkPuller},
 * the store being {@code qemu-nbd}'s export of a qcow2 through vmmig's {@link NbdClient}, as QEMU's
 * loopback export is in a migration) written by QEMU's own NBD client ({@code qemu-io} on
 * {@code nbd+unix://}, one synchronous 4 KiB write at a time, like the test guest's workload), while a
 * source that withholds every answer for 5 s (the link cut of {@code PullFaultIT}'s cell) and then answers
 * out of order installs the 256 KiB chunks around the guest's writes. Each block carries the test guest's
 * header (block, generation); afterwards every block is read back, through the agent and from the qcow2
 * itself, and compared byte for byte with what was last written (or the source's bytes).
 *
 * <p>Written for issue 10's {@code found=block-4} failure: a 4 KiB payload at the next block's offset, or
 * one request's payload written for another, shows here as a block holding another block's header.
 */
class StalledPullGuestWritesIT {
    private static final int CHUNK = 256 * 1024;
    private static final int BS = 4096;
    private static final int BLOCKS = 2048;          // 8 MiB, 32 chunks
    private static final int HOT = 1024;             // the fault cells' hot set: blocks [0, 1024)
    private static final long SIZE = (long) BLOCKS * BS;
    private static final long MAGIC = 0x4b4c4247494d4d56L;

    @TempDir
    Path dir;

    @Test
    void guestWritesDuringAStalledPullLandWhereTheGuestWroteThem() throws Exception {
        for (int seed = 1; seed <= 2; seed++) oneRun(seed);
    }

    /** The test guest's block: header (magic, block, gen, 0) then bytes from (seed, block, gen). */
    private static byte[] block(long seed, long block, long gen) {
        ByteBuffer b = ByteBuffer.allocate(BS).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC).putLong(block).putLong(gen).putLong(0);
        Random r = new Random(seed * 1_000_003L ^ block * 7919L ^ gen * 104_729L);
        byte[] rest = new byte[BS - 32];
        r.nextBytes(rest);
        b.put(rest);
        return b.array();
    }

    private static String header(byte[] data, int off) {
        ByteBuffer b = ByteBuffer.wrap(data, off, 24).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getLong() != MAGIC) return "no-header";
        return "block-" + b.getLong() + "/gen-" + b.getLong();
    }

    /** A source that answers nothing until {@link #release}, then answers each read after a random short delay (out of order). */
    private static final class StallingSource implements ChunkSource {
        private final BlockBackend file;
        private final CompletableFuture<Void> released = new CompletableFuture<>();
        private final AtomicInteger held = new AtomicInteger();
        private final Random rnd;

        StallingSource(BlockBackend file, long seed) {
            this.file = file;
            this.rnd = new Random(seed);
        }

        @Override
        public CompletableFuture<Void> read(long offset, ByteBuffer dst, Priority priority) {
            if (!released.isDone()) held.incrementAndGet();
            long delay;
            synchronized (rnd) {
                delay = rnd.nextInt(15);
            }
            Executor later = CompletableFuture.delayedExecutor(delay, TimeUnit.MILLISECONDS);
            return released.thenComposeAsync(v -> file.read(offset, dst), later);
        }

        void release() {
            released.complete(null);
        }
    }

    private void oneRun(long seed) throws Exception {
        Path run = Files.createDirectories(dir.resolve("run-" + seed));
        // the source's frozen image: every block at generation 1
        Path sourceRaw = run.resolve("source.raw");
        ByteBuffer all = ByteBuffer.allocate((int) SIZE);
        for (int b = 0; b < BLOCKS; b++) all.put(block(seed, b, 1));
        Files.write(sourceRaw, all.array());
        // the destination's local image, empty, behind qemu-nbd as QEMU's loopback export is
        Path store = run.resolve("store.qcow2");
        QemuImg.run(List.of("qemu-img", "create", "-q", "-f", "qcow2", store.toString(), Long.toString(SIZE)));
        Path storeSock = run.resolve("store.sock");
        Process nbd = new ProcessBuilder("qemu-nbd", "--format=qcow2", "--socket=" + storeSock, "--export-name=store",
                "--shared=2", "--persistent", store.toString()).redirectErrorStream(true)
                .redirectOutput(run.resolve("qemu-nbd.log").toFile()).start();
        Path agentSock = run.resolve("agent.sock");
        int[] gens = new int[BLOCKS];
        java.util.Arrays.fill(gens, 1);
        List<String> failures = new ArrayList<>();
        try (LocalFileBackend source = LocalFileBackend.open(sourceRaw, true)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(storeSock)) {
                assertTrue(nbd.isAlive() && System.nanoTime() < deadline, "qemu-nbd did not open " + storeSock);
                Thread.sleep(50);   // (a test waiting for another process's socket)
            }
            NbdClient storeClient = NbdClient.connect(storeSock, NbdClientOptions.of("store"));
            NbdExportBackend storeBackend = new NbdExportBackend(storeClient);
            StallingSource src = new StallingSource(source, seed);
            ChunkGeometry geo = new ChunkGeometry(SIZE, CHUNK);
            DestinationDisk disk = new DestinationDisk(geo, storeBackend, src);
            ChunkPuller puller = new ChunkPuller(geo, disk.handover(), src, storeBackend);
            disk.onDemand(puller::demanded);
            puller.limitBackground(1L << 20);   // the cell's pull-bandwidth: installs go on beside the later writes
            CompletableFuture<Void> pulled = puller.start(8);
            BitSet missing = new BitSet();
            missing.set(0, geo.count());
            int[] counts = new int[geo.count()];
            for (int c = 0; c < counts.length; c++) counts[c] = c < HOT * BS / CHUNK ? 3 : 1;   // the hot set first
            disk.handOver(new RemainingSet(missing, WriteCounts.of(counts)));
            NbdServer agent = NbdServer.start(UnixDomainSocketAddress.of(agentSock), List.of(new NbdExport("disk", "stalled pull", disk)));
            try {
                // the guest: random hot writes and short sequential runs, each one synchronous 4 KiB write
                Random rnd = new Random(seed);
                StringBuilder script = new StringBuilder();
                Path blocksDir = Files.createDirectories(run.resolve("blocks"));
                int writes = 1500;
                for (int i = 0; i < writes; ) {
                    int b = rnd.nextInt(HOT);
                    int runLength = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(8) : 1;
                    for (int k = 0; k < runLength && b + k < BLOCKS && i < writes; k++, i++) {
                        int blk = b + k;
                        int g = ++gens[blk];
                        Path f = blocksDir.resolve(blk + "-" + g);
                        Files.write(f, block(seed, blk, g));
                        script.append("write -q -s ").append(f).append(' ').append((long) blk * BS).append(' ').append(BS).append('\n');
                        script.append("sleep 8\n");   // ~100 writes/s: before, during and after the stall
                    }
                }
                Path commands = run.resolve("guest.qemu-io");
                Files.writeString(commands, script.toString());
                Path guestLog = run.resolve("guest.log");
                Process guest = new ProcessBuilder("qemu-io", "-f", "raw", "nbd+unix:///disk?socket=" + agentSock)
                        .redirectInput(commands.toFile()).redirectErrorStream(true).redirectOutput(guestLog.toFile()).start();
                long t0 = System.nanoTime();
                // the link comes back after 5 s
                CompletableFuture.delayedExecutor(5, TimeUnit.SECONDS).execute(src::release);
                assertTrue(guest.waitFor(10, TimeUnit.MINUTES), "qemu-io finished its writes");
                double guestSeconds = (System.nanoTime() - t0) / 1e9;
                String out = Files.readString(guestLog, StandardCharsets.UTF_8);
                assertEquals(0, guest.exitValue(), "qemu-io: " + out);
                assertTrue(!out.contains("failed") && !out.contains("error"), "the guest's writes all succeeded: " + out);
                src.release();
                pulled.get(10, TimeUnit.MINUTES);
                storeBackend.flush().get(1, TimeUnit.MINUTES);
                var stats = disk.writeStats();
                System.out.printf("STALLED-PULL seed %d: %d writes in %.1f s, %d taken at once into missing chunks, %d waited; "
                                + "%d source reads held by the stall, %.1f MiB pulled%n", seed, writes, guestSeconds, stats.takenAtOnce(),
                        stats.waited(), src.held.get(), puller.bytesPulled() / 1048576.0);
                assertTrue(src.held.get() > 0, "the stall held pulls back");
                assertTrue(stats.takenAtOnce() > 0, "guest writes went into missing chunks while the pull was stalled");
                // read back through the agent, as the guest's VERIFY does
                try (NbdClient reader = NbdClient.connect(agentSock, NbdClientOptions.of("disk"))) {
                    ByteBuffer back = ByteBuffer.allocate((int) SIZE);
                    NbdClient.await(reader.read(0, back));
                    compare("through the agent", seed, gens, back.array(), failures);
                }
            } finally {
                agent.close();
                puller.close();
                storeClient.close();
            }
        } finally {
            nbd.destroy();
            nbd.waitFor(30, TimeUnit.SECONDS);
        }
        // and as the bytes are in the destination's image
        Path finalRaw = run.resolve("final.raw");
        QemuImg.run(List.of("qemu-img", "convert", "-f", "qcow2", "-O", "raw", store.toString(), finalRaw.toString()));
        compare("in the image", seed, gens, Files.readAllBytes(finalRaw), failures);
        assertTrue(failures.isEmpty(), failures.size() + " blocks wrong (seed " + seed + "), first: "
                + String.join("\n", failures.subList(0, Math.min(20, failures.size()))));
    }

    private static void compare(String where, long seed, int[] gens, byte[] disk, List<String> failures) {
        for (int b = 0; b < BLOCKS; b++) {
            byte[] expected = block(seed, b, gens[b]);
            if (!java.util.Arrays.equals(expected, 0, BS, disk, b * BS, (b + 1) * BS))
                failures.add(where + ": block " + b + " expected gen " + gens[b] + ", found " + header(disk, b * BS));
        }
    }
}
