package io.vmmig.lab.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** User + system CPU seconds of a process so far, from {@code /proc/PID/stat} (fields 14 and 15, in clock ticks). */
final class ProcessCpu {
    /** USER_HZ: 100 on every Linux architecture this runs on (sysconf(_SC_CLK_TCK)). */
    private static final double TICKS_PER_SECOND = 100.0;

    private ProcessCpu() {
    }

    static double seconds(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // the command name (field 2) is in parentheses and may hold blanks: count from the last ')'
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / TICKS_PER_SECOND;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** The sum over {@code pids}. */
    static double seconds(long... pids) {
        double s = 0;
        for (long p : pids) s += seconds(p);
        return s;
    }
}
