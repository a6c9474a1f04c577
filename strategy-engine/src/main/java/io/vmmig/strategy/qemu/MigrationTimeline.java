package io.vmmig.strategy.qemu;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** When each phase of a migration began, relative to its start, for the report. */
public final class MigrationTimeline {
    /** A named instant. */
    public record Mark(String phase, Duration at) {}

    private final long startNanos = System.nanoTime();
    private final List<Mark> marks = new ArrayList<>();

    public synchronized void mark(String phase) {
        marks.add(new Mark(phase, Duration.ofNanos(System.nanoTime() - startNanos)));
    }

    public synchronized List<Mark> marks() {
        return List.copyOf(marks);
    }

    /** When {@code phase} was first marked, or null. */
    public synchronized Duration at(String phase) {
        for (Mark m : marks) if (m.phase().equals(phase)) return m.at();
        return null;
    }

    public Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }
}
