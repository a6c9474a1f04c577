package io.vmmig.nbd.bench;

import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.nbd.server.ExternalCommand;
import io.vmmig.nbd.server.NbdExport;
import io.vmmig.nbd.server.NbdServer;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Benchmark (not a test): serves the same 1 GiB raw image (random data, page-cached) with our
 * {@link NbdServer} and with {@code qemu-nbd}, both read-only on a UNIX socket, and times full reads
 * through each with {@code nbdcopy URI null:} and {@code qemu-img convert -O raw URI /dev/shm file}.
 * Prints MiB/s (best of N runs) and the ratio ours/qemu-nbd.
 *
 * <pre>mvn -B -o -pl nbd-export test-compile exec:java -Dexec.classpathScope=test \
 *     -Dexec.mainClass=io.vmmig.nbd.bench.ServerBench [-Dexec.args="RUNS SIZE_MIB"]</pre>
 */
public final class ServerBench {
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    private ServerBench() {}

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        long sizeMiB = args.length > 1 ? Long.parseLong(args[1]) : 1024;
        Path dir = Files.createTempDirectory("nbd-bench");
        try {
            Path image = dir.resolve("image.raw");
            createImage(image, sizeMiB << 20);
            List<String> results = new ArrayList<>();
            for (String tool : List.of("nbdcopy", "qemu-img")) {
                double ours = bestOf(runs, () -> timeOurs(dir, image, tool));
                double qemu = bestOf(runs, () -> timeQemuNbd(dir, image, tool));
                double mib = sizeMiB;
                results.add(String.format("%-9s ours %7.0f MiB/s   qemu-nbd %7.0f MiB/s   ratio ours/qemu-nbd %.2f",
                        tool, mib / ours, mib / qemu, qemu / ours));
            }
            double oursWrite = bestOf(runs, () -> timeOursWrite(dir, image));
            double qemuWrite = bestOf(runs, () -> timeQemuNbdWrite(dir, image));
            results.add(String.format("%-9s ours %7.0f MiB/s   qemu-nbd %7.0f MiB/s   ratio ours/qemu-nbd %.2f",
                    "nbdcopy-w", sizeMiB / oursWrite, sizeMiB / qemuWrite, qemuWrite / oursWrite));
            System.out.println("image " + sizeMiB + " MiB, best of " + runs + " runs, UNIX socket; reads from a read-only export,"
                    + " nbdcopy-w = nbdcopy from the image file into a writable export of a fresh sparse file (ends with FLUSH)");
            results.forEach(System.out::println);
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private interface Timed {
        double seconds() throws Exception;
    }

    private static double bestOf(int runs, Timed t) throws Exception {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < runs; i++) best = Math.min(best, t.seconds());
        return best;
    }

    private static void createImage(Path image, long size) throws IOException {
        byte[] block = new byte[1 << 20];
        new Random(1).nextBytes(block);
        try (RandomAccessFile raf = new RandomAccessFile(image.toFile(), "rw")) {
            FileChannel ch = raf.getChannel();
            for (long pos = 0; pos < size; pos += block.length) {
                block[(int) (pos >>> 20) % block.length] ^= 1; // no two MiB alike
                ch.write(ByteBuffer.wrap(block, 0, (int) Math.min(block.length, size - pos)), pos);
            }
        }
    }

    private static double timeOurs(Path dir, Path image, String tool) throws Exception {
        Path sock = dir.resolve("ours.sock");
        try (LocalFileBackend backend = LocalFileBackend.open(image, true);
             NbdServer server = NbdServer.start(UnixDomainSocketAddress.of(sock), List.of(new NbdExport("disk", "", backend)))) {
            return timeRead(dir, "nbd+unix:///disk?socket=" + server.address(), tool);
        }
    }

    private static Path freshTarget(Path dir, Path image) throws IOException {
        Path target = dir.resolve("target.raw");
        Files.deleteIfExists(target);
        try (RandomAccessFile raf = new RandomAccessFile(target.toFile(), "rw")) {
            raf.setLength(Files.size(image));
        }
        return target;
    }

    private static double timeNbdcopyInto(Path image, String uri) throws Exception {
        List<String> cmd = List.of("nbdcopy", image.toString(), uri);
        long t0 = System.nanoTime();
        ExternalCommand.run(TIMEOUT, cmd).requireSuccess(cmd);
        return (System.nanoTime() - t0) / 1e9;
    }

    private static double timeOursWrite(Path dir, Path image) throws Exception {
        Path sock = dir.resolve("ours-w.sock");
        try (LocalFileBackend backend = LocalFileBackend.open(freshTarget(dir, image), false);
             NbdServer server = NbdServer.start(UnixDomainSocketAddress.of(sock), List.of(new NbdExport("disk", "", backend)))) {
            return timeNbdcopyInto(image, "nbd+unix:///disk?socket=" + server.address());
        }
    }

    private static double timeQemuNbdWrite(Path dir, Path image) throws Exception {
        Path target = freshTarget(dir, image);
        return withQemuNbd(dir, target, false, uri -> timeNbdcopyInto(image, uri));
    }

    private interface UriAction {
        double run(String uri) throws Exception;
    }

    private static double timeQemuNbd(Path dir, Path image, String tool) throws Exception {
        return withQemuNbd(dir, image, true, uri -> timeRead(dir, uri, tool));
    }

    private static double withQemuNbd(Path dir, Path image, boolean readOnly, UriAction action) throws Exception {
        Path sock = dir.resolve("qemu.sock");
        List<String> cmd = new ArrayList<>(List.of("qemu-nbd", "-f", "raw", "-x", "disk", "-k", sock.toString(),
                "--persistent", "--shared=16", "--cache=writeback", "--aio=threads", "--discard=unmap", "--detect-zeroes=off"));
        if (readOnly) cmd.add("-r");
        cmd.add(image.toString());
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(sock)) {
            if (System.nanoTime() > deadline) {
                p.destroyForcibly().waitFor();
                throw new IllegalStateException("qemu-nbd socket did not appear within 30 s");
            }
            try {
                p.onExit().get(10, TimeUnit.MILLISECONDS); // completes early only if qemu-nbd died
                throw new IllegalStateException("qemu-nbd exited: " + Files.readString(dir.resolve("qemu-nbd.log")));
            } catch (java.util.concurrent.TimeoutException stillRunning) {
                // check the socket again
            }
        }
        try {
            return action.run("nbd+unix:///disk?socket=" + sock);
        } finally {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
            Files.deleteIfExists(sock);
        }
    }

    private static double timeRead(Path dir, String uri, String tool) throws Exception {
        Path out = Path.of("/dev/shm").resolve("nbd-bench-" + ProcessHandle.current().pid() + ".raw");
        List<String> cmd = tool.equals("nbdcopy") ? List.of("nbdcopy", uri, "null:")
                : List.of("qemu-img", "convert", "-f", "raw", "-O", "raw", uri, out.toString());
        try {
            long t0 = System.nanoTime();
            ExternalCommand.run(TIMEOUT, cmd).requireSuccess(cmd);
            return (System.nanoTime() - t0) / 1e9;
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
