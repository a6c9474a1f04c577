package io.vmmig.nbd.bench;

import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.client.NbdClientOptions;
import io.vmmig.nbd.client.QemuNbdFixture;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark (not a test): sequential read of a 1 GiB raw image served by qemu-nbd on a UNIX socket,
 * our {@link NbdClient} (reused direct buffers, several requests in flight, data discarded) against
 * {@code nbdcopy nbd+unix:///disk?socket=S null:} on the same server in the same run.
 * Arguments (optional): sizeMiB requestKiB inFlight rounds.
 */
public final class ClientBench {
    private ClientBench() {}

    public static void main(String[] args) throws Exception {
        long sizeMiB = args.length > 0 ? Long.parseLong(args[0]) : 1024;
        int requestKiB = args.length > 1 ? Integer.parseInt(args[1]) : 1024;
        int inFlight = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        long size = sizeMiB << 20;
        Path dir = Files.createTempDirectory("nbd-client-bench");
        Path img = dir.resolve("image.raw");
        try {
            writeImage(img, size);
            try (QemuNbdFixture server = QemuNbdFixture.start(dir, "disk", img, "raw", "-r", "--cache=writeback")) {
                String uri = "nbd+unix:///disk?socket=" + server.socket;
                ours(server.socket, size, requestKiB << 10, inFlight);   // warm-up: page cache and JIT
                List<Double> oursMiBs = new ArrayList<>(), copyMiBs = new ArrayList<>(), copy1MiBs = new ArrayList<>();
                for (int r = 0; r < rounds; r++) {
                    oursMiBs.add(ours(server.socket, size, requestKiB << 10, inFlight));
                    copyMiBs.add(command(size, "nbdcopy", uri, "null:"));
                    copy1MiBs.add(command(size, "nbdcopy", "--connections=1", uri, "null:"));
                }
                System.out.printf("image %d MiB, ours: %d KiB requests, %d in flight, 1 connection; %d rounds, interleaved%n",
                        sizeMiB, requestKiB, inFlight, rounds);
                System.out.printf("%-28s %8s %8s  %s%n", "", "median", "best", "MiB/s per round");
                print("ours", oursMiBs);
                print("nbdcopy (default)", copyMiBs);
                print("nbdcopy --connections=1", copy1MiBs);
                System.out.printf("ratio ours/nbdcopy: median %.2f best %.2f; ours/nbdcopy-1conn: median %.2f best %.2f (goal >= 0.7)%n",
                        median(oursMiBs) / median(copyMiBs), best(oursMiBs) / best(copyMiBs),
                        median(oursMiBs) / median(copy1MiBs), best(oursMiBs) / best(copy1MiBs));
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Non-zero data, each MiB different, so that no layer can treat it as zeroes. */
    static void writeImage(Path img, long size) throws IOException {
        byte[] block = new byte[4 << 20];
        new Random(42).nextBytes(block);
        ByteBuffer b = ByteBuffer.wrap(block);
        try (FileChannel f = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long off = 0; off < size; off += block.length) {
                for (int i = 0; i < block.length; i += 1 << 20) b.putLong(i, off + i);
                b.clear().limit((int) Math.min(block.length, size - off));
                while (b.hasRemaining()) f.write(b);
            }
        }
    }

    static double ours(Path socket, long size, int request, int inFlight) throws Exception {
        try (NbdClient c = NbdClient.connect(socket, NbdClientOptions.of("disk").withInFlight(inFlight, inFlight * request))) {
            ByteBuffer[] bufs = new ByteBuffer[inFlight];
            List<CompletableFuture<Void>> slots = new ArrayList<>();
            for (int i = 0; i < inFlight; i++) {
                bufs[i] = ByteBuffer.allocateDirect(request);
                slots.add(null);
            }
            long t0 = System.nanoTime();
            int k = 0;
            for (long off = 0; off < size; off += request, k++) {
                int s = k % inFlight;
                if (slots.get(s) != null) NbdClient.await(slots.get(s));
                ByteBuffer b = bufs[s].clear().limit((int) Math.min(request, size - off));
                slots.set(s, c.read(off, b));
            }
            for (CompletableFuture<Void> f : slots) if (f != null) NbdClient.await(f);
            return mibPerSecond(size, System.nanoTime() - t0);
        }
    }

    static double command(long size, String... cmd) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).inheritIO().start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + Arrays.toString(cmd));
        }
        long t = System.nanoTime() - t0;
        if (p.exitValue() != 0) throw new IOException(Arrays.toString(cmd) + " exited with " + p.exitValue());
        return mibPerSecond(size, t);
    }

    static double mibPerSecond(long bytes, long nanos) {
        return Math.round(bytes / (1024.0 * 1024.0) / (nanos / 1e9));
    }

    static void print(String name, List<Double> v) {
        System.out.printf("%-28s %8.0f %8.0f  %s%n", name, median(v), best(v), v);
    }

    static double best(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).max().orElse(0);
    }

    static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        return s.get(s.size() / 2);
    }
}
