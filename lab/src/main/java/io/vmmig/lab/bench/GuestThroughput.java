package io.vmmig.lab.bench;

import io.vmmig.testkit.ConsoleLine;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The guest's own write throughput reports ({@code TPUT <bytes/s> <writes>}, about once a second) with
 * their host arrival times, and their means before, during and after a migration.
 */
public final class GuestThroughput {
    private static final Pattern TPUT = Pattern.compile("^TPUT (\\d+) (\\d+)");

    /** One report: host time in seconds relative to the migration start, bytes per second. */
    public record Sample(double atSeconds, double bytesPerSecond) {}

    private final List<Sample> samples;

    public GuestThroughput(List<Sample> samples) {
        this.samples = samples.stream().sorted(Comparator.comparingDouble(Sample::atSeconds)).toList();
    }

    /** The TPUT lines of all consoles, times relative to {@code startNanos} (System.nanoTime scale). */
    public static GuestThroughput of(long startNanos, Collection<ConsoleLine> lines) {
        List<Sample> out = new ArrayList<>();
        for (ConsoleLine l : lines) {
            Matcher m = TPUT.matcher(l.text());
            if (m.find()) out.add(new Sample((l.nanoTime() - startNanos) / 1e9, Double.parseDouble(m.group(1))));
        }
        return new GuestThroughput(out);
    }

    public List<Sample> samples() {
        return samples;
    }

    /** Mean of the reports that arrived in [from, to) seconds; NaN if none. */
    public double mean(double fromSeconds, double toSeconds) {
        return samples.stream().filter(s -> s.atSeconds() >= fromSeconds && s.atSeconds() < toSeconds)
                .mapToDouble(Sample::bytesPerSecond).average().orElse(Double.NaN);
    }

    /** Mean of the last {@code n} reports before the start (time 0). */
    public double before(int n) {
        List<Sample> b = samples.stream().filter(s -> s.atSeconds() < 0).toList();
        return b.subList(Math.max(0, b.size() - n), b.size()).stream().mapToDouble(Sample::bytesPerSecond)
                .average().orElse(Double.NaN);
    }

    /**
     * Mean of the reports during the migration. A report covers the second before it arrived, so the
     * window is (0 + 1 s, end]; for a migration shorter than that, the first report after 0.
     */
    public double during(double endSeconds) {
        double d = mean(Math.min(1.0, endSeconds), endSeconds + 1e-9);
        if (!Double.isNaN(d)) return d;
        return samples.stream().filter(s -> s.atSeconds() >= 0).findFirst().map(Sample::bytesPerSecond).orElse(Double.NaN);
    }

    /**
     * Mean of the reports during the destination's pull: from one second after the switchover (a report covers the
     * second before it) to the end; NaN if the pull was too short for a report of its own.
     */
    public double duringPull(double cutoverSeconds, double endSeconds) {
        if (Double.isNaN(cutoverSeconds) || endSeconds - cutoverSeconds < 1.0) return Double.NaN;
        return mean(cutoverSeconds + 1.0, endSeconds + 1e-9);
    }

    /** Mean of the reports that arrived more than one second after the end. */
    public double after(double endSeconds) {
        return mean(endSeconds + 1.0, Double.MAX_VALUE);
    }
}
