package io.vmmig.agent.bench;

import io.vmmig.testkit.net.DelayProxyMain;
import io.vmmig.testkit.net.Endpoint;
import io.vmmig.testkit.net.JavaCommand;
import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A delaying forwarder in a lab namespace, like the lab's {@code TcpForwarder} but with a delay line
 * sized to the link ({@code --buffer-bytes}): the default 16 MiB would hide seconds of a 100 Mbit/s
 * link's data from the sender (QEMU would call the memory migration complete while megabytes still wait
 * in the proxy). The lab kills it when it closes, if {@link #close} did not.
 */
final class LinkForwarder implements AutoCloseable {
    private static final Duration START = Duration.ofSeconds(20);

    private final Process process;
    private final Endpoint listen;

    private LinkForwarder(Process process, Endpoint listen) {
        this.process = process;
        this.listen = listen;
    }

    /** Bytes the delay line may hold: twice the link's bytes in flight over the delay, at least 256 KiB. */
    static long bufferBytes(long rateBitsPerSecond, Duration oneWayDelay) {
        long inFlight = rateBitsPerSecond <= 0 ? 0 : rateBitsPerSecond / 8 * oneWayDelay.toMillis() / 1000;
        return Math.max(256L << 10, 2 * inFlight);
    }

    static LinkForwarder start(NetworkLab lab, LabHost host, Endpoint listen, Endpoint target, Duration delay,
                               long bufferBytes) {
        List<String> argv = JavaCommand.of(DelayProxyMain.class, List.of("--listen", listen.spec(), "--target",
                target.spec(), "--delay-ms", Long.toString(delay.toMillis()), "--buffer-bytes", Long.toString(bufferBytes)));
        Process p = lab.spawn(host, new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD));
        CompletableFuture<String> first = CompletableFuture.supplyAsync(() -> {
            try {
                return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
            } catch (IOException e) {
                return null;
            }
        });
        try {
            String line = first.get(START.toMillis(), TimeUnit.MILLISECONDS);
            if (line == null || !line.startsWith("LISTENING "))
                throw new IllegalStateException("forwarder " + listen.spec() + " -> " + target.spec() + " on "
                        + lab.namespace(host) + " did not start: " + (line == null ? "exited" : line));
            return new LinkForwarder(p, listen);
        } catch (Exception e) {
            p.destroyForcibly();
            if (e instanceof IllegalStateException ise) throw ise;
            throw new IllegalStateException("forwarder " + listen.spec() + " -> " + target.spec()
                    + " not listening within " + START + ": " + e, e);
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (listen instanceof Endpoint.Unix u) {
            try {
                Files.deleteIfExists(u.path());
            } catch (IOException ignored) {
                // replaced by the next listen
            }
        }
    }
}
