package io.vmmig.nbd.client;

import io.vmmig.testkit.HostCommand;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardOpenOption;

/**
 * A real qemu-nbd serving one image on a UNIX socket (or TCP port), started with --fork so that
 * "the parent exited" means "the socket is listening"; {@link #close()} kills the daemon.
 */
public final class QemuNbdFixture implements AutoCloseable {
    public final Path socket;
    public final String exportName;
    public final long pid;
    private final Path pidFile;

    private QemuNbdFixture(Path socket, String exportName, long pid, Path pidFile) {
        this.socket = socket;
        this.exportName = exportName;
        this.pid = pid;
        this.pidFile = pidFile;
    }

    /** @param extra more qemu-nbd options (-r, -A, -B NAME, --discard=unmap, -p PORT ...) */
    public static QemuNbdFixture start(Path dir, String exportName, Path image, String format, String... extra)
            throws IOException, InterruptedException {
        Path sock = dir.resolve("nbd-" + exportName + ".sock");
        Path pidFile = dir.resolve("qemu-nbd-" + exportName + ".pid");
        Path log = dir.resolve("qemu-nbd-" + exportName + ".log");
        List<String> cmd = new ArrayList<>(List.of("qemu-nbd", "--fork", "--pid-file=" + pidFile, "--persistent",
                "--shared=16", "-x", exportName, "-f", format));
        boolean tcp = List.of(extra).contains("-p");
        if (!tcp) cmd.addAll(List.of("-k", sock.toString()));
        cmd.addAll(List.of(extra));
        cmd.add(image.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("qemu-nbd did not start within 30 s: " + cmd);
        }
        if (p.exitValue() != 0) throw new IOException("qemu-nbd failed (" + p.exitValue() + "): " + cmd + "\n" + Files.readString(log));
        long pid = Long.parseLong(Files.readString(pidFile).trim());
        return new QemuNbdFixture(tcp ? null : sock, exportName, pid, pidFile);
    }

    public void signal(String sig) throws IOException, InterruptedException {
        HostCommand.run("kill", "-" + sig, Long.toString(pid));
    }

    /**
     * Kills the daemon and waits for its death: qemu-nbd holds a POSIX lock on its pid file while it
     * lives, so taking that lock is the exit event (no polling).
     */
    @Override
    public void close() throws IOException {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty()) return;
        try {
            signal("CONT");   // a stopped process would not act on SIGTERM
        } catch (IOException alreadyGone) {
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        h.get().destroy();
        try (FileChannel ch = FileChannel.open(pidFile, StandardOpenOption.WRITE)) {
            CompletableFuture<FileLock> lock = CompletableFuture.supplyAsync(() -> {
                try {
                    return ch.lock();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try {
                lock.get(10, TimeUnit.SECONDS).release();
            } catch (TimeoutException e) {
                h.get().destroyForcibly();
                lock.get(10, TimeUnit.SECONDS).release();
            }
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            throw new IOException("qemu-nbd " + pid + " did not die", e);
        } catch (InterruptedException e) {
            h.get().destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
