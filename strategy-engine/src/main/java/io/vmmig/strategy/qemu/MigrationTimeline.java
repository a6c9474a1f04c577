package io.vmmig.strategy.qemu;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What happened in a migration and when, relative to its start: the engine {@link #mark}s typed
 * {@link MigrationEvent}s, the agent listens ({@link #onEvent}) and asks ({@link #happened}).
 */
public final class MigrationTimeline {
    private static final Logger LOG = LoggerFactory.getLogger(MigrationTimeline.class);

    /** An event and when it first happened. */
    public record Mark(MigrationEvent event, Duration at) {
        /** The event's report name, e.g. {@code switched-over}. */
        public String phase() {
            return event.label();
        }
    }

    private final long startNanos;
    private final List<Mark> marks = new ArrayList<>();
    private final EnumMap<MigrationEvent, Duration> first = new EnumMap<>(MigrationEvent.class);
    private final List<Consumer<MigrationEvent>> listeners = new CopyOnWriteArrayList<>();

    public MigrationTimeline() {
        this(System.nanoTime());
    }

    /** A timeline whose zero is {@code startNanos} ({@link System#nanoTime()}), e.g. when the operator asked. */
    public MigrationTimeline(long startNanos) {
        this.startNanos = startNanos;
    }

    public void mark(MigrationEvent event) {
        synchronized (this) {
            Duration at = Duration.ofNanos(System.nanoTime() - startNanos);
            marks.add(new Mark(event, at));
            first.putIfAbsent(event, at);
        }
        for (Consumer<MigrationEvent> l : listeners) {
            try {
                l.accept(event);
            } catch (RuntimeException e) {
                LOG.warn("listener of {} failed: {}", event, e.toString());
            }
        }
    }

    /** Calls {@code listener} on every event from now on (on the thread that marks it). */
    public void onEvent(Consumer<MigrationEvent> listener) {
        listeners.add(listener);
    }

    public synchronized List<Mark> marks() {
        return List.copyOf(marks);
    }

    /** When {@code event} first happened, or null. */
    public synchronized Duration at(MigrationEvent event) {
        return first.get(event);
    }

    public synchronized boolean happened(MigrationEvent event) {
        return first.containsKey(event);
    }

    /** Whether the guest runs at the destination: the switchover (source) or the incoming completion (destination) happened. */
    public synchronized boolean guestAtDestination() {
        for (MigrationEvent e : first.keySet()) if (e.guestAtDestination()) return true;
        return false;
    }

    public Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    /** {@link System#nanoTime()} at this timeline's zero. */
    public long startNanos() {
        return startNanos;
    }
}
