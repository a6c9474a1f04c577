package io.vmmig.it.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * CPU time (user + system, {@code /proc/PID/stat} fields 14 and 15, in clock ticks of 1/100 s on Linux)
 * that named processes spend from {@link #start} to {@link #stop}, sampled every 100 ms so a process
 * that exits meanwhile (the source QEMU) counts up to its last sample, and one that appears later (the
 * destination QEMU, found by a text in its command line) counts from its start.
 */
final class CpuMeter implements AutoCloseable {
    private static final double TICKS_PER_SECOND = 100;
    private final Map<String, Long> pids;
    private final Map<String, String> mentions;
    private final Map<String, Long> first = new ConcurrentHashMap<>();
    private final Map<String, Long> last = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "cpu-meter");
        t.setDaemon(true);
        return t;
    });

    private CpuMeter(Map<String, Long> pids, Map<String, String> mentions) {
        this.pids = new ConcurrentHashMap<>(pids);
        this.mentions = mentions;
        for (var e : pids.entrySet()) {
            long t = ticks(e.getValue());
            if (t >= 0) first.put(e.getKey(), t);
        }
        sampler.scheduleAtFixedRate(this::sample, 100, 100, TimeUnit.MILLISECONDS);
    }

    /** Meters {@code pids} (name to pid) and, once one appears, the qemu-system process whose command line contains each value of {@code mentions}. */
    static CpuMeter start(Map<String, Long> pids, Map<String, String> mentions) {
        return new CpuMeter(pids, mentions);
    }

    private synchronized void sample() {
        for (var m : mentions.entrySet()) {
            if (!pids.containsKey(m.getKey())) {
                Long pid = findQemu(m.getValue());
                if (pid != null) {
                    pids.put(m.getKey(), pid);
                    first.put(m.getKey(), 0L);   // new since the start: all of its time counts
                }
            }
        }
        for (var e : pids.entrySet()) {
            long t = ticks(e.getValue());
            if (t >= 0) last.put(e.getKey(), t);
        }
    }

    /** CPU seconds per name since the start, after a last sample. */
    Map<String, Double> stop() {
        sampler.shutdownNow();
        sample();
        Map<String, Double> out = new LinkedHashMap<>();
        for (String name : names()) {
            Long a = first.get(name);
            Long b = last.get(name);
            out.put(name, a == null || b == null ? Double.NaN : (b - a) / TICKS_PER_SECOND);
        }
        return out;
    }

    private Iterable<String> names() {
        java.util.List<String> n = new java.util.ArrayList<>(pids.keySet());
        for (String m : mentions.keySet()) if (!n.contains(m)) n.add(m);
        return n;
    }

    static long ticks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);   // fields 14 utime and 15 stime
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static Long findQemu(String text) {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).filter(p -> {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    return cmd.startsWith("qemu-system") && cmd.contains(text);
                } catch (IOException e) {
                    return false;
                }
            }).map(p -> Long.parseLong(p.getFileName().toString())).findFirst().orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
