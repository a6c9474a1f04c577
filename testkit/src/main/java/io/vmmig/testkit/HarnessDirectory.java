package io.vmmig.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A QEMU process's private directory under {@code <tmp>/vmmig-harness}: it records the owning JVM
 * ({@code owner}) and the QEMU pid ({@code qemu.pid}) so that {@link #sweepStale()} can kill QEMUs and
 * remove directories left by a JVM that died without cleaning up.
 */
public final class HarnessDirectory {
    private static final Logger LOG = LoggerFactory.getLogger(HarnessDirectory.class);
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static final Duration OWNERLESS_GRACE = Duration.ofMinutes(1);
    private static boolean swept;

    private final Path path;

    private HarnessDirectory(Path path) {
        this.path = path;
    }

    /** The parent of all harness directories. */
    public static Path base() {
        return Path.of(System.getProperty("java.io.tmpdir"), "vmmig-harness");
    }

    /** Creates a fresh directory owned by this JVM. */
    static HarnessDirectory create(String name) {
        String safe = name.replaceAll("[^A-Za-z0-9_.-]", "_");
        if (safe.length() > 16) {
            safe = safe.substring(0, 16);
        }
        try {
            Files.createDirectories(base());
            Path dir = Files.createTempDirectory(base(), safe + "-" + ProcessHandle.current().pid() + "-"
                    + COUNTER.incrementAndGet() + "-");
            Files.writeString(dir.resolve("owner"), describe(ProcessHandle.current()), StandardCharsets.UTF_8);
            return new HarnessDirectory(dir);
        } catch (IOException e) {
            throw new TestKitException("cannot create a harness directory under " + base() + ": " + e.getMessage(), e);
        }
    }

    public Path path() {
        return path;
    }

    /** Records the QEMU process so a later sweep can kill it if this JVM dies. */
    void recordQemu(ProcessHandle qemu) {
        try {
            Files.writeString(path.resolve("qemu.pid"), describe(qemu), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new TestKitException("cannot write " + path.resolve("qemu.pid") + ": " + e.getMessage(), e);
        }
    }

    /** Runs {@link #sweepStale()} the first time it is called in this JVM. */
    static synchronized void sweepStaleOnce() {
        if (!swept) {
            swept = true;
            sweepStale();
        }
    }

    /**
     * Kills the QEMU and deletes the directory of every harness directory whose owning JVM is gone.
     *
     * @return how many directories were removed
     */
    public static int sweepStale() {
        if (!Files.isDirectory(base())) {
            return 0;
        }
        int removed = 0;
        try (Stream<Path> dirs = Files.list(base())) {
            for (Path dir : dirs.filter(Files::isDirectory).toList()) {
                if (isStale(dir)) {
                    killRecorded(dir.resolve("qemu.pid"));
                    deleteRecursively(dir);
                    removed++;
                    LOG.info("removed stale harness directory {}", dir);
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot sweep {}: {}", base(), e.toString());
        }
        return removed;
    }

    private static boolean isStale(Path dir) throws IOException {
        Optional<String> owner = read(dir.resolve("owner"));
        if (owner.isEmpty()) {  // maybe being created right now by another JVM
            FileTime modified = Files.getLastModifiedTime(dir);
            return modified.toInstant().isBefore(Instant.now().minus(OWNERLESS_GRACE));
        }
        return !isSameLiveProcess(owner.get());
    }

    private static void killRecorded(Path pidFile) {
        Optional<String> recorded = read(pidFile);
        if (recorded.isEmpty() || !isSameLiveProcess(recorded.get())) {
            return;
        }
        ProcessHandle.of(pid(recorded.get())).ifPresent(p -> {
            LOG.info("killing stale QEMU pid {}", p.pid());
            p.destroyForcibly();
            try {
                p.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.warn("stale QEMU pid {} did not exit: {}", p.pid(), e.toString());
            }
        });
    }

    /** "pid startMillis": the start time guards against a recycled pid. */
    static String describe(ProcessHandle p) {
        return p.pid() + " " + p.info().startInstant().map(Instant::toEpochMilli).orElse(-1L) + "\n";
    }

    static boolean isSameLiveProcess(String description) {
        String[] parts = description.trim().split("\\s+");
        Optional<ProcessHandle> p = ProcessHandle.of(Long.parseLong(parts[0]));
        if (p.isEmpty() || !p.get().isAlive()) {
            return false;
        }
        long recordedStart = parts.length > 1 ? Long.parseLong(parts[1]) : -1;
        long actualStart = p.get().info().startInstant().map(Instant::toEpochMilli).orElse(-1L);
        return recordedStart < 0 || actualStart < 0 || Math.abs(recordedStart - actualStart) < 2000;
    }

    private static long pid(String description) {
        return Long.parseLong(description.trim().split("\\s+")[0]);
    }

    private static Optional<String> read(Path file) {
        try {
            String s = Files.readString(file, StandardCharsets.UTF_8).trim();
            return s.isEmpty() ? Optional.empty() : Optional.of(s);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Deletes a directory tree; missing files are fine. */
    static void deleteRecursively(Path root) {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> files = Files.walk(root)) {
            List<Path> all = files.sorted(Comparator.reverseOrder()).toList();
            for (Path f : all) {
                Files.deleteIfExists(f);
            }
        } catch (IOException e) {
            throw new TestKitException("cannot delete " + root + ": " + e.getMessage(), e);
        }
    }
}
