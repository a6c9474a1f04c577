package io.vmmig.testkit.net;

import io.vmmig.testkit.TestKitException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A probe stream from outside the guest: {@link GuestProbeMain} in a lab namespace sends a UDP datagram to
 * the guest's echo every interval; this side collects the answers ({@link #record()}) for the downtime
 * as a third party sees it. Closing it kills the process (the lab does too).
 */
public final class GuestProbe implements AutoCloseable {
    private static final Duration START_DEADLINE = Duration.ofSeconds(30);

    private final Process process;
    private final Duration interval;
    private final List<ProbeRecord.Reply> replies = new ArrayList<>();
    private final StringBuilder stderrTail = new StringBuilder();
    private boolean probing;
    private boolean ended;

    private GuestProbe(Process process, Duration interval) {
        this.process = process;
        this.interval = interval;
    }

    static GuestProbe start(NetworkLab lab, String namespace, String address, int port, Duration interval) {
        ProcessBuilder pb = new ProcessBuilder(JavaCommand.of(GuestProbeMain.class,
                List.of(address, Integer.toString(port), Long.toString(Math.max(1, interval.toMillis())))));
        pb.redirectErrorStream(true);
        GuestProbe probe = new GuestProbe(lab.spawnIn(namespace, pb), interval);
        Thread reader = new Thread(probe::read, "vmmig-guest-probe");
        reader.setDaemon(true);
        reader.start();
        probe.awaitProbing();
        return probe;
    }

    private void read() {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII))) {
            for (String line; (line = in.readLine()) != null; ) {
                String[] f = line.split(" ");
                synchronized (this) {
                    if (f.length == 4 && f[0].equals("REPLY")) {
                        replies.add(new ProbeRecord.Reply(Long.parseLong(f[1]), instant(Long.parseLong(f[2])),
                                instant(Long.parseLong(f[3]))));
                    } else if (f[0].equals("PROBING")) {
                        probing = true;
                    } else if (stderrTail.length() < 4000) {
                        stderrTail.append(line).append('\n');
                    }
                    notifyAll();
                }
            }
        } catch (IOException | NumberFormatException e) {
            synchronized (this) {
                stderrTail.append(e).append('\n');
            }
        } finally {
            synchronized (this) {
                ended = true;
                notifyAll();
            }
        }
    }

    private static Instant instant(long epochMicros) {
        return Instant.ofEpochSecond(epochMicros / 1_000_000, (epochMicros % 1_000_000) * 1_000);
    }

    private synchronized void awaitProbing() {
        long deadline = System.nanoTime() + START_DEADLINE.toNanos();
        try {
            while (!probing && !ended && System.nanoTime() < deadline) {
                wait(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!probing) {
            process.destroyForcibly();
            throw new TestKitException("the guest probe did not start within " + START_DEADLINE + ": " + stderrTail);
        }
    }

    /**
     * Waits until at least {@code count} answers came back after {@code after}; returns whether they did
     * within {@code deadline}.
     */
    public synchronized boolean awaitAnswers(int count, Instant after, Duration deadline) {
        long end = System.nanoTime() + deadline.toNanos();
        try {
            while (!ended && System.nanoTime() < end) {
                if (replies.stream().filter(r -> r.received().isAfter(after)).count() >= count) return true;
                wait(Math.max(1, (end - System.nanoTime()) / 1_000_000));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return replies.stream().filter(r -> r.received().isAfter(after)).count() >= count;
    }

    /** The answers so far. */
    public synchronized ProbeRecord record() {
        return new ProbeRecord(replies, interval);
    }

    /** What the probe process printed besides its protocol (errors), for failure messages. */
    public synchronized String output() {
        return stderrTail.toString();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
