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
    private volatile String waitingFor;

    public MigrationRecord(String id, String role, String vm, String peer, String strategy) {
        this.id = id;
        this.role = role;
        this.vm = vm;
        this.peer = peer;
        this.strategy = strategy;
        LOG.info("migration {} ({} side, {} of {} with {}): {}", id, role, strategy, vm, peer, MigrationPhase.PREPARING);
    }

    /**
     * A migration an earlier run of this agent took to the switchover, found again after a restart
     * (its guest still runs here): completed, or failed with {@code problem} when its pull was cut
     * short by the restart.
     */
    public static MigrationRecord restored(String id, String role, String vm, String peer, String strategy, String problem) {
        MigrationRecord r = new MigrationRecord(id, role, vm, peer, strategy);
        if (problem == null) {
            r.complete(new ControlEvent.Report(id, io.vmmig.agent.control.ControlCodec.tree(java.util.Map.of("restored", true)),
                    "migration " + id + ": the guest runs here (found again after an agent restart)"));
        } else {
            r.fail(ErrorKind.FAILED, problem);
        }
        return r;
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

    /**
     * Enters {@code next}; logs and tells the watchers. Phases only move forward: a phase at or before
     * the current one, or any phase after the end, is ignored (a late sampler cannot move a migration
     * back before its switchover). The terminal phases are entered by {@link #complete} and {@link #fail}.
     */
    public synchronized void phase(MigrationPhase next) {
        if (next.terminal())
            throw new IllegalArgumentException("migration " + id + ": " + next + " is entered by complete() or fail(), with its outcome");
        if (next.ordinal() <= phase.ordinal() || phase.terminal()) return;
        phase = next;
        LOG.info("migration {}: {} after {} ms", id, next, elapsedMillis());
        publish(new ControlEvent.PhaseChange(id, next, elapsedMillis()));
    }

    /** A progress sample (ignored after the end). */
    public synchronized void progress(MigrationProgress p) {
        if (phase.terminal()) return;
        progress = p;
        publish(new ControlEvent.Progress(id, phase, p));
    }

    /** The migration completed with this report. */
    public void complete(ControlEvent.Report report) {
        end(MigrationPhase.COMPLETED, report, null);
    }

    /** The migration failed (or was cancelled: kind CANCELLED). */
    public void fail(ErrorKind kind, String message) {
        MigrationPhase p = kind == ErrorKind.CANCELLED ? MigrationPhase.CANCELLED : MigrationPhase.FAILED;
        end(p, new ControlEvent.Failure(id, kind, message), message);
    }

    private synchronized void end(MigrationPhase p, ControlEvent terminal, String message) {
        if (phase.terminal()) return;
        phase = p;
        outcome = terminal;
        error = message;
        if (message == null) LOG.info("migration {}: {} after {} ms", id, p, elapsedMillis());
        else LOG.warn("migration {}: {} after {} ms: {}", id, p, elapsedMillis(), message.replace('\n', ' '));
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
                    + " destination, and until its pull ends the source holds the only copy of the chunks it still misses;"
                    + " cancelling would take its disk away, so the migration can only finish (a lost destination: see"
                    + " vmmig status, it waits for it)");
        Consumer<String> c = canceller;
        if (c == null || role.equals("destination"))
            throw new AgentException(ErrorKind.BAD_REQUEST, "migration " + id + " is cancelled from its source agent");
        c.accept(reason);
    }

    /**
     * Delivers this migration's events to {@code watcher}: first where it stands (accepted, the phase,
     * the latest progress, the outcome if it ended), then each new event. Events are delivered on the
     * thread that caused them, with this record locked (so in order, and none lost or repeated between
     * the replay and the new ones): a watcher must only hand them over (e.g. to a queue), never block.
     */
    public synchronized Watch watch(Consumer<ControlEvent> watcher) {
        watcher.accept(new ControlEvent.Accepted(id, vm, peer, strategy));
        watcher.accept(new ControlEvent.PhaseChange(id, phase, elapsedMillis()));
        if (progress != null && outcome == null) watcher.accept(new ControlEvent.Progress(id, phase, progress));
        if (outcome != null) watcher.accept(outcome);
        watchers.add(watcher);
        return () -> watchers.remove(watcher);
    }

    /** Tells every watcher; called with this record locked. */
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
        return new MigrationStatus(id, role, vm, peer, strategy, phase, startedAt.toString(), progress, error,
                phase.terminal() ? null : waitingFor);
    }

    /**
     * During the pull: the connection to {@code peer} ({@code "source"} or {@code "destination"}) is lost
     * and awaited; null once it is back. Logged on each change.
     */
    public void waitingFor(String peer) {
        String before = waitingFor;
        waitingFor = peer;
        if (peer != null && !peer.equals(before)) LOG.warn("migration {}: connection lost, waiting for the {}", id, peer);
        else if (peer == null && before != null) LOG.info("migration {}: connection to the {} back", id, before);
    }

    public String role() {
        return role;
    }

    public String vm() {
        return vm;
    }

    public String peer() {
        return peer;
    }

    public String strategy() {
        return strategy;
    }
}
