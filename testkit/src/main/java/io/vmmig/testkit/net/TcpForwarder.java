package io.vmmig.testkit.net;

import io.vmmig.testkit.TestKitException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@link DelayProxy} running as a child JVM inside a lab namespace ({@link DelayProxyMain} under
 * {@code ip netns exec NS}): the JVM side of a lab. Typical bridges, since Unix sockets cross namespaces:
 * <ul>
 *   <li>a JVM server reachable over the lab link: on B, listen {@code tcp:10.213.0.2:PORT}, target
 *       {@code unix:/tmp/.../server.sock} (where the JVM listens);</li>
 *   <li>a JVM client going over the lab link: on A, listen {@code unix:/tmp/.../client.sock} (the JVM
 *       connects there), target {@code tcp:10.213.0.2:PORT}.</li>
 * </ul>
 * Startup ~0.3-0.5 s (deadline 20 s); {@link #close()} (and the lab's close) kills it; it also exits when
 * the parent JVM dies (its stdin ends). Its stderr goes to an already unlinked temp file (nothing is left
 * behind even if this JVM is killed) and is quoted when it fails to start.
 */
public final class TcpForwarder implements AutoCloseable {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(20);

    private final Process process;
    private final Endpoint listening;
    private final FileChannel stderr;

    private TcpForwarder(Process process, Endpoint listening, FileChannel stderr) {
        this.process = process;
        this.listening = listening;
        this.stderr = stderr;
    }

    /** Starts the forwarder on {@code host} and returns once it accepts connections. */
    public static TcpForwarder start(NetworkLab lab, LabHost host, Endpoint listen, Endpoint target,
            Duration oneWayDelay) {
        return start(lab, host, listen, target, oneWayDelay, DelayProxy.DEFAULT_BUFFER_BYTES);
    }

    /**
     * Like {@link #start(NetworkLab, LabHost, Endpoint, Endpoint, Duration)} with a delay line of
     * {@code bufferBytes} per direction: size it to the link, or a shaped sender sees its data
     * "sent" long before it crossed.
     */
    public static TcpForwarder start(NetworkLab lab, LabHost host, Endpoint listen, Endpoint target,
            Duration oneWayDelay, long bufferBytes) {
        List<String> argv = JavaCommand.of(DelayProxyMain.class, List.of("--listen", listen.spec(), "--target",
                target.spec(), "--delay-ms", Long.toString(oneWayDelay.toMillis()),
                "--buffer-bytes", Long.toString(bufferBytes)));
        String what = "forwarder on " + lab.namespace(host) + " (" + listen.spec() + " -> " + target.spec() + ")";
        FileChannel err;
        Process p;
        try {
            Path errFile = Files.createTempFile("vmmig-forwarder", ".stderr");
            try {
                err = FileChannel.open(errFile, StandardOpenOption.READ);
                p = lab.spawn(host, new ProcessBuilder(argv).redirectError(errFile.toFile()));
            } finally {
                Files.deleteIfExists(errFile);  // the child and our channel keep it open
            }
        } catch (IOException e) {
            throw new TestKitException("cannot set up the stderr file of the " + what + ": " + e.getMessage(), e);
        }
        CompletableFuture<String> firstLine = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try {
                firstLine.complete(new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8)).readLine());
            } catch (IOException e) {
                firstLine.complete(null);
            }
        }, "forwarder-start-" + p.pid());
        reader.setDaemon(true);
        reader.start();
        TcpForwarder forwarder = null;
        try {
            String line = firstLine.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (line == null || !line.startsWith("LISTENING ")) {
                throw new TestKitException(what + " did not start: " + (line == null ? "exited" : "said '" + line
                        + "'") + "; stderr: " + tail(err));
            }
            forwarder = new TcpForwarder(p, Endpoint.parse(line.substring("LISTENING ".length()).trim()), err);
            lab.adopt(forwarder);
            return forwarder;
        } catch (TimeoutException e) {
            throw new TestKitException(what + " not listening within " + START_TIMEOUT + "; stderr: " + tail(err));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TestKitException("interrupted while starting the " + what, e);
        } catch (ExecutionException e) {
            throw new TestKitException(what + " failed to start: " + e.getCause(), e);
        } finally {
            if (forwarder == null) {
                LabNamespaces.kill(p.toHandle());
                closeQuietly(err);
            }
        }
    }

    /** Where to connect (inside the forwarder's namespace for TCP, anywhere for a Unix socket). */
    public Endpoint listenEndpoint() {
        return listening;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** What the forwarder wrote on stderr so far (last 2000 characters). */
    public String stderrTail() {
        return tail(stderr);
    }

    /** Kills the forwarder and removes its Unix socket (also done by the lab's close). Idempotent. */
    @Override
    public void close() {
        LabNamespaces.kill(process.toHandle());
        closeQuietly(stderr);
        if (listening instanceof Endpoint.Unix u) {
            try {
                Files.deleteIfExists(u.path());
            } catch (IOException ignored) {
                // replaced by the next listen
            }
        }
    }

    private static String tail(FileChannel err) {
        try {
            long size = err.size();
            long from = Math.max(0, size - 2000);
            ByteBuffer b = ByteBuffer.allocate((int) (size - from));
            while (b.hasRemaining() && err.read(b, from + b.position()) > 0) {
                // read the tail
            }
            return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    private static void closeQuietly(FileChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
