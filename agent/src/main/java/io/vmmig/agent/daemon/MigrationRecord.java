package io.vmmig.agent.daemon;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationProgress;
import io.vmmig.agent.control.MigrationStatus;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One migration as the agent tracks it: phase, latest progress, outcome, and the clients watching
 * its events. Sessions update it; control connections watch it. Thread-safe.
 */
public final class MigrationRecord {
    private static final Logger LOG = LoggerFactory.getLogger(MigrationRecord.class);

    /** Stops delivering events to one watcher. */
    public interface Watch extends AutoCloseable {
        @Override
        void close();
    }

    private final String id;
    private final String role;
    private final String vm;
    private final String peer;
    private final String strategy;
    private final Instant startedAt = Instant.now();
    private final long startNanos = System.nanoTime();
    private final List<Consumer<ControlEvent>> watchers = new CopyOnWriteArrayList<>();
    private MigrationPhase phase = MigrationPhase.PREPARING;   // guarded by this
    private MigrationProgress progress;                        // guarded by this
    private ControlEvent outcome;                              // guarded by this
    private String error;                                      // guarded by this
    private volatile Consumer<String> canceller;

    public MigrationRecord(String id, String role, String vm, String peer, String strategy) {
        this.id = id;
        this.role = role;
        this.vm = vm;
        this.peer = peer;
        this.strategy = strategy;
        LOG.info("migration {} ({} side, {} of {} with {}): {}", id, role, strategy, vm, peer, MigrationPhase.PREPARING);
    }

    public String id() {
        return id;
    }

    public long elapsedMillis() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    public synchronized MigrationPhase phase() {
        return phase;
    }

    /** Enters {@code next} (no-op if already there or ended); logs and tells the watchers. */
    public void phase(MigrationPhase next) {
        synchronized (this) {
            if (phase == next || phase.terminal()) return;
            phase = next;
        }
        LOG.info("migration {}: {} after {} ms", id, next, elapsedMillis());
        publish(new ControlEvent.PhaseChange(id, next, elapsedMillis()));
    }

    public void progress(MigrationProgress p) {
        MigrationPhase now;
        synchronized (this) {
            if (phase.terminal()) return;
            progress = p;
            now = phase;
        }
        publish(new ControlEvent.Progress(id, now, p));
    }

    /** The migration completed with this report. */
    public void complete(ControlEvent.Report report) {
        end(MigrationPhase.COMPLETED, report, null);
    }

    /** The migration failed (or was cancelled: kind CANCELLED). */
    public void fail(ErrorKind kind, String message) {
        MigrationPhase p = kind == ErrorKind.CANCELLED ? MigrationPhase.CANCELLED : MigrationPhase.FAILED;
        LOG.warn("migration {}: {}: {}", id, p, message);
        end(p, new ControlEvent.Failure(id, kind, message), message);
    }

    private void end(MigrationPhase p, ControlEvent terminal, String message) {
        synchronized (this) {
            if (phase.terminal()) return;
            phase = p;
            outcome = terminal;
            error = message;
        }
        LOG.info("migration {}: {} after {} ms", id, p, elapsedMillis());
        publish(new ControlEvent.PhaseChange(id, p, elapsedMillis()));
        publish(terminal);
    }

    /** Sets what {@link #cancel} does (the session's cancellation). */
    public void onCancel(Consumer<String> c) {
        this.canceller = c;
    }

    /**
     * Asks the session to cancel.
     *
     * @throws AgentException if the migration ended or already switched over
     */
    public void cancel(String reason) throws AgentException {
        MigrationPhase p = phase();
        if (p.terminal()) throw new AgentException(ErrorKind.BAD_REQUEST, "migration " + id + " already ended (" + p + ")");
        if (p.switchedOver())
            throw new AgentException(ErrorKind.BAD_REQUEST, "migration " + id + " already switched over: the guest runs at the"
                    + " destination, it can only finish");
        Consumer<String> c = canceller;
        if (c == null || role.equals("destination"))
            throw new AgentException(ErrorKind.BAD_REQUEST, "migration " + id + " is cancelled from its source agent");
        c.accept(reason);
    }

    /**
     * Delivers this migration's events to {@code watcher}: first where it stands (accepted, the phase,
     * the latest progress, the outcome if it ended), then each new event.
     */
    public Watch watch(Consumer<ControlEvent> watcher) {
        watchers.add(watcher);
        ControlEvent last;
        MigrationPhase p;
        MigrationProgress pr;
        synchronized (this) {
            last = outcome;
            p = phase;
            pr = progress;
        }
        watcher.accept(new ControlEvent.Accepted(id, vm, peer, strategy));
        watcher.accept(new ControlEvent.PhaseChange(id, p, elapsedMillis()));
        if (pr != null && last == null) watcher.accept(new ControlEvent.Progress(id, p, pr));
        if (last != null) watcher.accept(last);
        return () -> watchers.remove(watcher);
    }

    private void publish(ControlEvent e) {
        for (Consumer<ControlEvent> w : watchers) {
            try {
                w.accept(e);
            } catch (RuntimeException ex) {
                watchers.remove(w);   // a watcher that went away
            }
        }
    }

    public synchronized MigrationStatus status() {
        return new MigrationStatus(id, role, vm, peer, strategy, phase, startedAt.toString(), progress, error);
    }
}
