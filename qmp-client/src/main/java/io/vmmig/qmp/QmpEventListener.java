package io.vmmig.qmp;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A scoped subscription to QMP events: it receives, in its own bounded queue, every event that matches its
 * filter from its creation until {@link #close()}. Use with try-with-resources. When the connection is lost,
 * queued events are still delivered, then waiting for more throws {@link QmpConnectionLostException}.
 */
public final class QmpEventListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QmpEventListener.class);
    private static final QmpEvent END = new QmpEvent("<end>", null, null);

    private final String name;
    private final EventFilter filter;
    private final QmpEventHub hub;
    private final BlockingDeque<QmpEvent> queue;
    private final int capacity;
    private final AtomicLong dropped = new AtomicLong();
    private volatile QmpConnectionLostException endCause;

    QmpEventListener(String name, EventFilter filter, int capacity, QmpEventHub hub) {
        this.name = name;
        this.filter = filter;
        this.hub = hub;
        this.queue = new LinkedBlockingDeque<>(capacity + 1); // +1 keeps room for the end marker
        this.capacity = capacity;
    }

    /** The listener's name (used in errors and logs). */
    public String name() {
        return name;
    }

    /** Number of matching events dropped because the queue was full. */
    public long dropped() {
        return dropped.get();
    }

    /**
     * The next queued event, waiting up to {@code timeout}.
     *
     * @throws QmpTimeoutException        if none arrived in time
     * @throws QmpConnectionLostException if the connection was lost and no event is left
     */
    public QmpEvent next(Duration timeout) {
        return await(e -> true, timeout, "any event");
    }

    /**
     * Waits up to {@code timeout} for the next event matching {@code match}, discarding non-matching ones.
     *
     * @throws QmpTimeoutException        if none arrived in time
     * @throws QmpConnectionLostException if the connection was lost first
     */
    public QmpEvent await(Predicate<QmpEvent> match, Duration timeout) {
        return await(match, timeout, "a matching event");
    }

    private QmpEvent await(Predicate<QmpEvent> match, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            QmpEvent e;
            try {
                e = queue.pollFirst(Math.max(0, left), TimeUnit.NANOSECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new QmpException("interrupted while listener '" + name + "' waited for " + what, ie);
            }
            if (e == null) {
                throw new QmpTimeoutException("listener '" + name + "' got no " + what + " within " + timeout);
            }
            if (e == END) {
                queue.offerFirst(END);
                throw new QmpConnectionLostException("listener '" + name + "' waiting for " + what
                        + ": " + endCause.getMessage(), endCause);
            }
            if (match.test(e)) {
                return e;
            }
        }
    }

    /** The next queued event without waiting, if any. */
    public Optional<QmpEvent> poll() {
        QmpEvent e = queue.pollFirst();
        if (e == END) {
            queue.offerFirst(END);
            return Optional.empty();
        }
        return Optional.ofNullable(e);
    }

    /** Removes and returns all queued events. */
    public List<QmpEvent> drain() {
        List<QmpEvent> out = new ArrayList<>();
        for (QmpEvent e; (e = poll().orElse(null)) != null; ) {
            out.add(e);
        }
        return out;
    }

    /** Ends the scope: no more events are queued for this listener. */
    @Override
    public void close() {
        hub.remove(this);
    }

    void offer(QmpEvent event) {
        if (!filter.test(event)) {
            return;
        }
        if (queue.size() >= capacity || !queue.offerLast(event)) {
            long n = dropped.incrementAndGet();
            if (n == 1 || n % 1000 == 0) {
                log.warn("QMP event listener '{}' queue full ({} events): dropped {} so far, latest {}",
                        name, capacity, n, event.name());
            }
        }
    }

    void end(QmpConnectionLostException cause) {
        if (endCause == null) {
            endCause = cause;
            queue.offerLast(END);
        }
    }

    @Override
    public String toString() {
        return "QmpEventListener[" + name + "]";
    }
}
