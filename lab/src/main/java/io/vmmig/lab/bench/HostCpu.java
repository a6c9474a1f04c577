package io.vmmig.lab.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The whole host's CPU time from {@code /proc/stat} (its first line: jiffies per state summed over the
 * cores): how busy the cores were between two readings, as a number of cores (0 to the core count).
 * The bench keeps its pre-copy runs off a host whose cores are already busy: a long TCG memory
 * migration on saturated cores is where QEMU 7.2 left stale guest RAM (shared/notes/tcg-stale-ram.md).
 */
record HostCpu(long busy, long total) {
    static final Path STAT = Path.of("/proc/stat");

    /** A reading now; zeroes if {@code /proc/stat} cannot be read. */
    static HostCpu now() {
        try {
            return parse(Files.readAllLines(STAT).get(0));
        } catch (IOException | RuntimeException e) {
            return new HostCpu(0, 0);
        }
    }

    /** {@code cpu  user nice system idle iowait irq softirq steal ...}: idle and iowait are not busy. */
    static HostCpu parse(String cpuLine) {
        String[] f = cpuLine.trim().split("\\s+");
        if (!f[0].equals("cpu")) throw new IllegalArgumentException("not the aggregate cpu line: " + cpuLine);
        long total = 0;
        long idle = 0;
        for (int i = 1; i < f.length && i <= 8; i++) {   // guest time (9, 10) is already in user
            long v = Long.parseLong(f[i]);
            total += v;
            if (i == 4 || i == 5) idle += v;
        }
        return new HostCpu(total - idle, total);
    }

    /** Cores busy on average from {@code earlier} to this reading (NaN if no time passed). */
    double coresBusySince(HostCpu earlier, int cores) {
        long dt = total - earlier.total;
        return dt <= 0 ? Double.NaN : cores * (double) (busy - earlier.busy) / dt;
    }

    /** Cores busy over the next {@code window} (sleeps that long: the bench's own pacing, not product code). */
    static double coresBusyOver(Duration window, int cores) throws InterruptedException {
        HostCpu a = now();
        Thread.sleep(window.toMillis());
        return now().coresBusySince(a, cores);
    }
}
