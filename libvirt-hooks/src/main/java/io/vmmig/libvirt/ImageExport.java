package io.vmmig.libvirt;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.client.NbdClientOptions;
import io.vmmig.nbd.protocol.NbdException;
import io.vmmig.strategy.qemu.NbdExportBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A read-only view of an image as the guest sees it (format and backing chain resolved by QEMU's own code),
 * served by {@code qemu-nbd --read-only} on a UNIX socket and read through vmmig's NBD client. {@code --fork}
 * returns once the socket listens; {@link #close} ends that qemu-nbd by its pid file.
 */
public final class ImageExport implements AutoCloseable {
    public static final String EXPORT = "disk";
    private final Path socket;
    private final Path pidFile;
    private final NbdClient client;
    private final NbdExportBackend backend;

    private ImageExport(Path socket, Path pidFile, NbdClient client) {
        this.socket = socket;
        this.pidFile = pidFile;
        this.client = client;
        this.backend = new NbdExportBackend(client);
    }

    /** A QEMU image spec ({@code json:{...}}) of {@code format} on the file at {@code file}, with {@code backing} under it (or none). */
    public static String spec(String format, Path file, String backingFormat, Path backing) {
        ObjectMapper m = new ObjectMapper();
        // read-only and shared: the image may be open in a running QEMU (qemu-img's -U)
        ObjectNode n = m.createObjectNode().put("driver", format).put("read-only", true).put("force-share", true);
        n.putObject("file").put("driver", "file").put("filename", file.toString());
        if (backing != null) {
            ObjectNode b = n.putObject("backing").put("driver", backingFormat).put("read-only", true).put("force-share", true);
            b.putObject("file").put("driver", "file").put("filename", backing.toString());
        } else if ("qcow2".equals(format)) {
            n.putNull("backing");
        }
        return "json:" + n;
    }

    /** Serves {@code spec} read-only at {@code socket} (the image may be open in a running QEMU: shared, {@code -U}). */
    public static ImageExport start(String spec, Path socket) throws IOException, InterruptedException, NbdException {
        Files.deleteIfExists(socket);
        Path pid = socket.resolveSibling(socket.getFileName() + ".pid");
        Process p = new ProcessBuilder("qemu-nbd", "--fork", "--pid-file", pid.toString(), "--read-only", "--shared=8", "--persistent",
                "--cache=none", "--aio=threads", "-k", socket.toString(), "-x", EXPORT, spec).start();
        p.getOutputStream().close();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (p.waitFor() != 0) throw new IOException("qemu-nbd cannot serve " + spec + ": " + err);
        return new ImageExport(socket, pid, NbdClient.connect(socket, NbdClientOptions.of(EXPORT)));
    }

    /**
     * Stops the qemu-nbd of every export started in {@code dir} that outlived its owner (an agent killed with
     * SIGKILL leaves them: {@code --fork --persistent}), found by their pid files; returns how many.
     */
    public static int stopLeftovers(Path dir) {
        int stopped = 0;
        if (!Files.isDirectory(dir)) return 0;
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            for (Path pid : files.filter(f -> f.getFileName().toString().endsWith(".sock.pid")).toList()) {
                try {
                    long n = Long.parseLong(Files.readString(pid).trim());
                    var ph = ProcessHandle.of(n).filter(h -> h.info().command().map(c -> c.endsWith("qemu-nbd")).orElse(false));
                    if (ph.isPresent()) {
                        ph.get().destroy();
                        ph.get().onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
                        stopped++;
                    }
                } catch (IOException | NumberFormatException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    // not ours, or already gone
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return stopped;
                }
            }
        } catch (IOException e) {
            // nothing to list
        }
        return stopped;
    }

    public NbdExportBackend backend() {
        return backend;
    }

    public Path socket() {
        return socket;
    }

    @Override
    public void close() {
        try {
            client.close();
        } catch (RuntimeException e) {
            // the server may be gone
        }
        try {
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            ProcessHandle.of(pid).ifPresent(ph -> {
                if (ph.info().command().map(c -> c.endsWith("qemu-nbd")).orElse(false)) ph.destroy();
            });
            Files.deleteIfExists(pidFile);
            Files.deleteIfExists(socket);
        } catch (IOException | NumberFormatException e) {
            // nothing to stop
        }
    }
}
