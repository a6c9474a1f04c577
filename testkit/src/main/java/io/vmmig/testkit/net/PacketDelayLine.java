package io.vmmig.testkit.net;

import io.vmmig.testkit.TestKitException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The process of a {@link LabLink#delayLine(Duration)} lab: {@code delayline} ({@link DelayLineProgram})
 * attached to the TUN device of each namespace, writing each packet read from one to the other after the
 * one-way delay, in order. It enters the namespaces itself (setns), so it is started outside them; it ends
 * when its stdin closes (this JVM died or {@link #close()}), and the lab's close and sweep kill it (it is
 * listed by {@code ip netns pids} of B).
 */
public final class PacketDelayLine implements AutoCloseable {
    /** Bytes one direction may hold (propagation, not a router buffer: far above rate x delay here). */
    static final long QUEUE_BYTES = 64L << 20;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(20);

    /** What crossed, per direction, and the worst lateness of a release (scheduling). */
    public record Stats(long aToBPackets, long aToBBytes, long aToBDropped, long bToAPackets, long bToABytes,
                        long bToADropped, Duration maxLate) {
        static Stats parse(String line) {
            String[] f = line.trim().split("\\s+");
            if (f.length != 8 || !f[0].equals("STATS")) {
                throw new TestKitException("delay line answered '" + line + "'");
            }
            return new Stats(Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
                    Long.parseLong(f[5]), Long.parseLong(f[6]), Duration.ofNanos(Long.parseLong(f[7]) * 1000));
        }

        public Stats minus(Stats before) {
            return new Stats(aToBPackets - before.aToBPackets, aToBBytes - before.aToBBytes,
                    aToBDropped - before.aToBDropped, bToAPackets - before.bToAPackets, bToABytes - before.bToABytes,
                    bToADropped - before.bToADropped, maxLate);
        }
    }

    private final Process process;
    private final BufferedReader out;
    private final OutputStream in;
    private final Duration oneWayDelay;
    private volatile boolean realtime;

    private PacketDelayLine(Process process, Duration oneWayDelay) {
        this.process = process;
        this.oneWayDelay = oneWayDelay;
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.in = process.getOutputStream();
    }

    /** Starts the delay line between the TUN devices of {@code lab}'s namespaces; returns once attached. */
    static PacketDelayLine start(NetworkLab lab, LabLink link) {
        List<String> argv = List.of(DelayLineProgram.get().toString(),
                netnsFile(lab.namespace(LabHost.A)), link.interfaceName(LabHost.A),
                netnsFile(lab.namespace(LabHost.B)), link.interfaceName(LabHost.B),
                Long.toString(link.oneWayDelay().toNanos() / 1000), Long.toString(QUEUE_BYTES));
        Process p;
        Path err;
        try {
            err = Files.createTempFile("vmmig-delayline", ".stderr");
            p = new ProcessBuilder(argv).redirectError(err.toFile()).start();
        } catch (IOException e) {
            throw new TestKitException("cannot start the delay line: " + e.getMessage(), e);
        }
        PacketDelayLine line = new PacketDelayLine(p, link.oneWayDelay());
        CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
            try {
                return line.out.readLine();
            } catch (IOException e) {
                return null;
            }
        });
        try {
            String first = ready.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (first == null || !first.startsWith("READY")) {
                p.waitFor(5, TimeUnit.SECONDS);
                throw new TestKitException("delay line did not start (" + first + "): "
                        + LabCommand.tail(Files.readString(err)) + " (" + String.join(" ", argv) + ")");
            }
            line.realtime = first.endsWith(" realtime");
            return line;
        } catch (Exception e) {
            LabNamespaces.kill(p.toHandle());
            if (e instanceof TestKitException t) {
                throw t;
            }
            throw new TestKitException("delay line did not start within " + START_TIMEOUT + ": " + e, e);
        } finally {
            try {
                Files.deleteIfExists(err);   // the child keeps it open
            } catch (IOException ignored) {
                // a temp file
            }
        }
    }

    private static String netnsFile(String ns) {
        return "/run/netns/" + ns;
    }

    public Duration oneWayDelay() {
        return oneWayDelay;
    }

    /** Whether it runs at real-time priority (SCHED_FIFO 1: releases on time whatever the load). */
    public boolean realtime() {
        return realtime;
    }

    /** The process id (tests check it is gone after the lab closed). */
    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** The counters since start. */
    public synchronized Stats stats() {
        try {
            in.write("stats\n".getBytes(StandardCharsets.US_ASCII));
            in.flush();
            String line = out.readLine();
            if (line == null) {
                throw new TestKitException("delay line exited");
            }
            return Stats.parse(line);
        } catch (IOException e) {
            throw new TestKitException("cannot ask the delay line for its counters: " + e.getMessage(), e);
        }
    }

    /** Ends the process (its stdin closes, then SIGKILL). Idempotent. */
    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException ignored) {
            // it is killed next
        }
        LabNamespaces.kill(process.toHandle());
    }
}
