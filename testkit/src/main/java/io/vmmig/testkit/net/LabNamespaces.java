package io.vmmig.testkit.net;

import io.vmmig.testkit.HostCommand;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Names of lab namespaces and the sweep of stale ones. A name is
 * {@code vmmig-<jvm pid>-<jvm start, epoch seconds base 36>-<n>-<a|b|c>} (c: a guest LAN's client): the start time guards against a
 * recycled pid, so a sweep removes exactly the namespaces whose creating JVM is gone.
 */
final class LabNamespaces {
    private static final Logger LOG = LoggerFactory.getLogger(LabNamespaces.class);
    private static final Pattern NAME = Pattern.compile("vmmig-(\\d+)-([0-9a-z]+)-(\\d+)-[abc]");
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static boolean swept;

    private LabNamespaces() {
    }

    /** A fresh base name ({@code vmmig-PID-START-N}) for this JVM; append {@code -a} / {@code -b}. */
    static String newBaseName() {
        ProcessHandle self = ProcessHandle.current();
        return "vmmig-" + self.pid() + "-" + startTag(self).orElse("0") + "-" + COUNTER.incrementAndGet();
    }

    private static Optional<String> startTag(ProcessHandle p) {
        return p.info().startInstant().map(i -> Long.toString(i.getEpochSecond(), 36));
    }

    static synchronized void sweepStaleOnce() {
        if (!swept) {
            swept = true;
            sweepStale();
        }
    }

    /** Deletes every lab namespace whose owner JVM is gone, killing the processes still inside. */
    static int sweepStale() {
        int removed = 0;
        for (String ns : list()) {
            Matcher m = NAME.matcher(ns);
            if (m.matches() && !ownerAlive(Long.parseLong(m.group(1)), m.group(2))) {
                delete(ns);
                removed++;
                LOG.info("removed stale lab namespace {}", ns);
            }
        }
        return removed;
    }

    /** All network namespace names ({@code ip netns list}). */
    static List<String> list() {
        List<String> names = new ArrayList<>();
        for (String line : LabCommand.run(List.of("ip", "netns", "list")).split("\n")) {
            String trimmed = line.trim();
            if (!trimmed.isEmpty()) {
                names.add(trimmed.split("\\s+")[0]);
            }
        }
        return names;
    }

    private static boolean ownerAlive(long pid, String startTag) {
        Optional<ProcessHandle> p = ProcessHandle.of(pid);
        if (p.isEmpty() || !p.get().isAlive()) {
            return false;
        }
        Optional<Instant> start = p.get().info().startInstant();
        if (start.isEmpty() || startTag.equals("0")) {
            return true;
        }
        long recorded = Long.parseLong(startTag, 36);
        return Math.abs(recorded - start.get().getEpochSecond()) <= 2;
    }

    /**
     * Kills every process in {@code ns} ({@code ip netns pids}) and deletes it; missing is fine. A namespace
     * lives on while a process is inside, so the processes go first.
     */
    static void delete(String ns) {
        HostCommand.Result pids = LabCommand.attempt(List.of("ip", "netns", "pids", ns));
        if (pids.exitCode() == 0) {
            for (String s : pids.output().trim().split("\\s+")) {
                if (!s.isEmpty() && s.chars().allMatch(Character::isDigit)) {
                    ProcessHandle.of(Long.parseLong(s)).ifPresent(LabNamespaces::kill);
                }
            }
        }
        HostCommand.Result del = LabCommand.attempt(List.of("ip", "netns", "delete", ns));
        if (del.exitCode() != 0 && list().contains(ns)) {
            throw new io.vmmig.testkit.TestKitException("cannot delete network namespace " + ns + ": "
                    + del.output().trim());
        }
    }

    static void kill(ProcessHandle p) {
        p.destroyForcibly();
        try {
            p.onExit().get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.warn("process {} did not exit after SIGKILL: {}", p.pid(), e.toString());
        }
    }
}
