package io.vmmig.strategy.dedup;

import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.destination.DestinationDiskTransfer;
import io.vmmig.strategy.peer.SocketPeerChannel;
import io.vmmig.strategy.source.SourceDiskTransfer;
import io.vmmig.strategy.source.SourceOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Figures of the dedup index and protocol, printed, never asserted (a benchmark, not a test: the
 * class name does not end in Test, so {@code mvn test} skips it). Run with
 *
 * <pre>
 * mvn -B -o test -pl strategy-engine -am -Dtest=FingerprintIndexBench -Dsurefire.failIfNoSpecifiedTests=false \
 *     [-Dvmmig.bench.index-gib=10] [-Dvmmig.bench.images=/var/cache/vmmig-lab/debian-images]
 * </pre>
 *
 * (1) a file of {@code index-gib} GiB whose every 64 KiB chunk is distinct real data (a 4 MiB random
 * block, each chunk stamped with its index): time to index it, table bytes per entry and per TiB;
 * (2) table lookups per second (random present and absent keys) and verified finds per second (read +
 * SHA-256 of the candidate); (3) with the debootstrap images of {@code lab/images/build-debian-images}:
 * vm.raw moved by the engine's own hybrid transfer over loopback TCP to a destination whose index holds
 * neighbour.raw, with and without dedup: disk bytes on the wire, and what that takes at 100 Mbit/s
 * (bytes × 8 / 10^8: computed, the link here is not shaped). The machine load (uptime) is printed
 * beside each figure: on a shared machine the times are indicative only.
 */
class FingerprintIndexBench {
    private static final int CHUNK = 64 * 1024;
    @TempDir Path dir;

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "?";
        }
    }

    @Test
    void indexFigures() throws Exception {
        long gib = Long.getLong("vmmig.bench.index-gib", 10);
        Path images = Files.createDirectories(dir.resolve("images"));
        Path big = images.resolve("big.raw");
        long chunks = gib * (1L << 30) / CHUNK;
        ByteBuffer block = ByteBuffer.allocateDirect(4 << 20);
        byte[] rnd = new byte[4 << 20];
        new Random(1).nextBytes(rnd);
        long t0 = System.nanoTime();
        try (FileChannel out = FileChannel.open(big, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long c = 0; c < chunks; c += block.capacity() / CHUNK) {
                block.clear();
                block.put(rnd).flip();
                for (int i = 0; i < block.capacity() / CHUNK; i++) block.putLong(i * CHUNK, c + i);
                while (block.hasRemaining()) out.write(block);
            }
        }
        System.out.printf("wrote %d GiB of distinct 64 KiB chunks (%d chunks) in %.1f s  [load %s]%n", gib, chunks,
                (System.nanoTime() - t0) / 1e9, load());
        Files.setLastModifiedTime(big, FileTime.fromMillis(System.currentTimeMillis() - 60_000));
        try (FingerprintIndex ix = FingerprintIndex.open(dir.resolve("index"), CHUNK, List.of(images), Duration.ZERO)) {
            String before = load();
            t0 = System.nanoTime();
            FingerprintIndex.RefreshResult r = ix.refresh();
            double s = (System.nanoTime() - t0) / 1e9;
            FingerprintIndex.Stats st = ix.stats();
            System.out.printf("indexed %d GiB (%d chunks) in %.1f s = %.0f MiB/s  [load before %s, after %s]%n", gib,
                    r.chunksRead(), s, gib * 1024 / s, before, load());
            double perEntry = st.bytesPerEntry();
            System.out.printf("table: %d slots, %d live entries, %d bytes = %.1f bytes/entry = %.2f GB per TiB indexed at 64 KiB"
                    + " (borg's chunk index: ~100 bytes/entry, ~1.7 GB/TiB)%n", st.slots(), st.liveEntries(), st.tableBytes(),
                    perEntry, perEntry * ((1L << 40) / CHUNK) / 1e9);

            // lookups: keys of present chunks (recomputed) and absent ones
            int n = 1_000_000;
            byte[][] present = new byte[4096][];
            java.security.MessageDigest md = ChunkDigest.sha256();
            ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
            Random pick = new Random(2);
            try (FileChannel in = FileChannel.open(big, StandardOpenOption.READ)) {
                for (int i = 0; i < present.length; i++) {
                    chunk.clear();
                    in.read(chunk, (Math.floorMod(pick.nextLong(), chunks)) * CHUNK);
                    present[i] = ChunkDigest.of(md, chunk.flip());
                }
            }
            byte[][] absent = new byte[4096][32];
            for (byte[] a : absent) pick.nextBytes(a);
            before = load();
            t0 = System.nanoTime();
            long found = 0;
            for (int i = 0; i < n; i++) found += ix.candidateCount(i % 2 == 0 ? present[i % 4096] : absent[i % 4096]);
            s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("table lookups: %d in %.2f s = %.2f M lookups/s (half present: %d found)  [load before %s, after %s]%n",
                    n, s, n / s / 1e6, found, before, load());
            LocalChunkMatcher m = new LocalChunkMatcher(ix);
            int finds = 20_000;
            before = load();
            t0 = System.nanoTime();
            for (int i = 0; i < finds; i++) if (m.find(present[i % 4096], CHUNK) == null) throw new IllegalStateException("lost");
            s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("verified finds (read 64 KiB + SHA-256): %d in %.2f s = %.0f finds/s = %.0f MiB/s"
                    + " (100 Mbit/s carries 191 chunks/s)  [load before %s, after %s]%n", finds, s, finds / s, finds / s / 16, before, load());
        }
        Files.delete(big);
    }

    @Test
    void debianImages() throws Exception {
        Path images = Path.of(System.getProperty("vmmig.bench.images", "/var/cache/vmmig-lab/debian-images"));
        Path vm = images.resolve("vm.raw");
        Path neighbour = images.resolve("neighbour.raw");
        if (!Files.exists(vm) || !Files.exists(neighbour)) {
            System.out.println("no debootstrap images in " + images + ": run lab/images/build-debian-images");
            return;
        }
        System.out.println(Files.readString(images.resolve("BUILT")));
        Path nbDir = Files.createDirectories(dir.resolve("neighbours"));
        Files.createLink(nbDir.resolve("neighbour.raw"), neighbour);
        try (FingerprintIndex ix = FingerprintIndex.open(dir.resolve("nindex"), CHUNK, List.of(nbDir), Duration.ZERO)) {
            long t0 = System.nanoTime();
            FingerprintIndex.RefreshResult r = ix.refresh();
            System.out.printf("neighbour.raw indexed: %d chunks with data in %.1f s; %s  [load %s]%n", r.chunksRead(),
                    (System.nanoTime() - t0) / 1e9, ix.stats(), load());
            for (int chunkSize : new int[] {64 * 1024, 256 * 1024}) {
                for (boolean dedup : new boolean[] {false, true}) transfer(vm, ix, chunkSize, dedup, dedup ? "on, neighbour" : "off");
            }
        }
        // No neighbour: the index holds only an unrelated image (64 MiB of random bytes), so every fingerprint is
        // sent and every lookup misses: the cost of dedup when nothing matches
        Path otherDir = Files.createDirectories(dir.resolve("unrelated"));
        byte[] rnd = new byte[64 << 20];
        new Random(3).nextBytes(rnd);
        Files.write(otherDir.resolve("unrelated.raw"), rnd);
        Files.setLastModifiedTime(otherDir.resolve("unrelated.raw"), FileTime.fromMillis(System.currentTimeMillis() - 60_000));
        try (FingerprintIndex ix = FingerprintIndex.open(dir.resolve("uindex"), CHUNK, List.of(otherDir), Duration.ZERO)) {
            ix.refresh();
            transfer(vm, ix, 64 * 1024, true, "on, no neighbour");
        }
    }

    /** vm.raw through the engine's hybrid transfer (push everything, empty hand-over) over loopback TCP. */
    private void transfer(Path image, FingerprintIndex ix, int chunkSize, boolean dedup, String label) throws Exception {
        Path target = dir.resolve("target-" + chunkSize + "-" + dedup + ".raw");
        long size = Files.size(image);
        try (FileChannel f = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            f.truncate(size);
            f.write(ByteBuffer.allocate(1), size - 1);
        }
        ChunkGeometry geo = new ChunkGeometry(size, chunkSize);
        BitSet all = new BitSet();
        all.set(0, geo.count());
        String before = load();
        long t0 = System.nanoTime();
        try (LocalFileBackend src = LocalFileBackend.open(image, true); LocalFileBackend dst = LocalFileBackend.open(target, false);
             ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            SocketPeerChannel srcCh = SocketPeerChannel.connect(server.getLocalAddress());
            DestinationDiskTransfer d = new DestinationDiskTransfer(geo, dst, new SocketPeerChannel(server.accept()), 2);
            LocalChunkMatcher m = new LocalChunkMatcher(ix);
            if (dedup) d.dedupFrom(m);
            d.start();
            SourceOptions o = SourceOptions.defaults().withDedup(dedup ? CHUNK : 0);
            SourceDiskTransfer s = new SourceDiskTransfer(geo, src, all, srcCh, o);
            s.start();
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
            while (!s.caughtUp()) {
                if (System.nanoTime() > deadline) throw new IllegalStateException("push did not catch up in 10 min");
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
            s.cutover(new BitSet(), Duration.ofMinutes(5));
            d.complete().get(10, TimeUnit.MINUTES);
            s.finished().get(1, TimeUnit.MINUTES);
            var c = s.counters();
            long wire = c.pushedWireBytes.get() + c.fingerprintWireBytes.get();
            System.out.printf("vm.raw at %d KiB chunks, dedup %s: disk bytes on the wire %.1f MiB (data %.1f MiB + fingerprints %.2f MiB),"
                            + " dedup %.1f MiB local, zero-skipped %.1f MiB; at 100 Mbit/s %.1f s; loopback run %.1f s  [load before %s, after %s]%n",
                    chunkSize / 1024, label, wire / 1048576.0, c.pushedWireBytes.get() / 1048576.0,
                    c.fingerprintWireBytes.get() / 1048576.0, c.dedupBytes.get() / 1048576.0, c.zeroSkippedBytes.get() / 1048576.0,
                    wire * 8 / 1e8, (System.nanoTime() - t0) / 1e9, before, load());
            if (Files.mismatch(image, target) != -1) throw new IllegalStateException("target differs from vm.raw");
            s.close();
            d.close();
        } finally {
            Files.deleteIfExists(target);
        }
    }
}
