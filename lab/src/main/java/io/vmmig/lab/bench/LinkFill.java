package io.vmmig.lab.bench;

import io.vmmig.strategy.qemu.MigrationEvent;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * How full a run kept the link from the source to the destination: the bytes the source's end sent
 * ({@link RunResult.WireSample#toDestination()}, frames with their headers) x 8 over what the link's rate
 * carries in the same time, as a fraction (a little above 1 is tbf's burst). Overall: from the migration's
 * start to its end. Disk phases, where only the disk crosses: the push before QEMU's memory migration
 * starts (pre-copy; a mirror's bulk copy), and the pull after the guest runs at the destination (post-copy,
 * hybrid). A phase counts only if it lasts {@link #MIN_PHASE} or longer: shorter ones are dominated by the
 * 250 ms sampling. NaN where there is nothing to measure: an unshaped link, no phase long enough.
 *
 * @param overall   start to the end of the run
 * @param push      the push before the memory migration (PUSH_STARTED or MIRROR_STARTED to MEMORY_STARTED)
 * @param pull      the pull after the switchover (RUNNING_AT_DESTINATION to DISK_COMPLETE or FINISHED)
 * @param diskPhase the phases that count together: their bytes over their time
 */
public record LinkFill(double overall, double push, double pull, double diskPhase) {
    public static final Duration MIN_PHASE = Duration.ofSeconds(1);
    /** Nothing measured (a failed run, a run without samples). */
    public static final LinkFill NONE = new LinkFill(Double.NaN, Double.NaN, Double.NaN, Double.NaN);

    /** A part of the run, in seconds from the migration start. */
    public record Span(double fromSeconds, double toSeconds) {
        double seconds() {
            return toSeconds - fromSeconds;
        }

        boolean longEnough() {
            return seconds() >= MIN_PHASE.toNanos() / 1e9;
        }
    }

    /**
     * The fills of a run from its source and destination timelines ({@code MigrationTimeline::at}, measured
     * from the same start as {@code samples}); {@code totalMillis} is the run's end.
     */
    public static LinkFill of(List<RunResult.WireSample> samples, LinkProfile link, long totalMillis,
                              Function<MigrationEvent, Duration> source, Function<MigrationEvent, Duration> destination) {
        return of(samples, link.rateBitsPerSecond(), new Span(0, totalMillis / 1000.0), pushPhase(source), pullPhase(destination));
    }

    /** The fills over {@code run}, {@code push} and {@code pull} (either may be null: no such phase). */
    public static LinkFill of(List<RunResult.WireSample> samples, long rateBitsPerSecond, Span run, Span push, Span pull) {
        if (rateBitsPerSecond <= 0 || samples.isEmpty()) return NONE;
        double overall = run.seconds() > 0 ? fill(samples, rateBitsPerSecond, List.of(run)) : Double.NaN;
        boolean pushCounts = push != null && push.longEnough();
        boolean pullCounts = pull != null && pull.longEnough();
        List<Span> disk = pushCounts && pullCounts ? List.of(push, pull) : pushCounts ? List.of(push) : pullCounts ? List.of(pull) : List.of();
        return new LinkFill(overall, pushCounts ? fill(samples, rateBitsPerSecond, List.of(push)) : Double.NaN,
                pullCounts ? fill(samples, rateBitsPerSecond, List.of(pull)) : Double.NaN,
                disk.isEmpty() ? Double.NaN : fill(samples, rateBitsPerSecond, disk));
    }

    /** PUSH_STARTED (or MIRROR_STARTED, or the start) to MEMORY_STARTED; null if the memory migration never started. */
    static Span pushPhase(Function<MigrationEvent, Duration> source) {
        Duration memory = source.apply(MigrationEvent.MEMORY_STARTED);
        if (memory == null) return null;
        Duration from = source.apply(MigrationEvent.PUSH_STARTED);
        if (from == null) from = source.apply(MigrationEvent.MIRROR_STARTED);
        return new Span(from == null ? 0 : seconds(from), seconds(memory));
    }

    /** RUNNING_AT_DESTINATION to DISK_COMPLETE (or FINISHED); null if either end is missing. */
    static Span pullPhase(Function<MigrationEvent, Duration> destination) {
        Duration running = destination.apply(MigrationEvent.RUNNING_AT_DESTINATION);
        Duration done = destination.apply(MigrationEvent.DISK_COMPLETE);
        if (done == null) done = destination.apply(MigrationEvent.FINISHED);
        return running == null || done == null ? null : new Span(seconds(running), seconds(done));
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    private static double fill(List<RunResult.WireSample> samples, long rateBitsPerSecond, List<Span> spans) {
        double bytes = 0;
        double seconds = 0;
        for (Span s : spans) {
            bytes += toDestinationAt(samples, s.toSeconds()) - toDestinationAt(samples, s.fromSeconds());
            seconds += s.seconds();
        }
        return bytes * 8 / (rateBitsPerSecond * seconds);
    }

    /** The cumulative bytes to the destination at {@code t}, interpolated between samples (held beyond them). */
    static double toDestinationAt(List<RunResult.WireSample> samples, double t) {
        RunResult.WireSample first = samples.get(0);
        if (t <= first.atSeconds()) return first.toDestination();
        for (int i = 1; i < samples.size(); i++) {
            RunResult.WireSample b = samples.get(i);
            if (t <= b.atSeconds()) {
                RunResult.WireSample a = samples.get(i - 1);
                double span = b.atSeconds() - a.atSeconds();
                return span <= 0 ? b.toDestination()
                        : a.toDestination() + (b.toDestination() - a.toDestination()) * (t - a.atSeconds()) / span;
            }
        }
        return samples.get(samples.size() - 1).toDestination();
    }

    /** For a run's line: {@code link fill 71 % (disk phase 96 %: push -, pull 96 %)}, "-" where not measured. */
    public String describe() {
        return String.format(Locale.ROOT, "link fill %s (disk phase %s: push %s, pull %s)", percent(overall), percent(diskPhase),
                percent(push), percent(pull));
    }

    static String percent(double fraction) {
        return Double.isNaN(fraction) ? "-" : String.format(Locale.ROOT, "%.0f %%", fraction * 100);
    }
}
