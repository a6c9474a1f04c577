package io.vmmig.agent.daemon;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.GuestLocation;
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
    private final Instant startedAt;
    private final long startNanos = System.nanoTime();
    private final List<Consumer<ControlEvent>> watchers = new CopyOnWriteArrayList<>();
    private MigrationPhase phase = MigrationPhase.PREPARING;   // guarded by this
    private MigrationProgress progress;                        // guarded by this
    private ControlEvent outcome;                              // guarded by this
    private String error;                                      // guarded by this
    private GuestLocation guest;                               // guarded by this
    private volatile Consumer<String> canceller;
    private final java.util.Map<String, String> facts = new java.util.TreeMap<>();   // guarded by this
    private MigrationJournal journal;                                                // guarded by this
    private volatile String waitingFor;
    private volatile String caller;        // who asked (source side), as Audit writes it
    private volatile String peerSubject;   // the other agent's certificate subject
    private volatile boolean audited;      // its start is in the audit log: so will its end be

    public MigrationRecord(String id, String role, String vm, String peer, String strategy) {
        this(id, role, vm, peer, strategy, Instant.now());
        LOG.info("migration {} ({} side, {} of {} with {}): {}", id, role, strategy, vm, peer, MigrationPhase.PREPARING);
    }

    private MigrationRecord(String id, String role, String vm, String peer, String strategy, Instant startedAt) {
        this.id = id;
        this.role = role;
        this.vm = vm;
        this.peer = peer;
        this.strategy = strategy;
        this.startedAt = startedAt;
    }

    /** A migration as a previous run of the agent wrote it down: its phase, outcome and facts as they were. */
    public static MigrationRecord restored(MigrationJournal.Entry e) {
        MigrationStatus s = e.status();
        MigrationRecord r = new MigrationRecord(s.id(), s.role(), s.vm(), s.peer(), s.strategy(),
                s.startedAt() == null ? Instant.now() : Instant.parse(s.startedAt()));
        synchronized (r) {
            r.phase = s.phase() == null ? MigrationPhase.PREPARING : s.phase();
            r.progress = s.progress();
            r.error = s.error();
            r.guest = s.guest();
            r.facts.putAll(e.facts());
            r.caller = s.caller();
            r.peerSubject = s.peerSubject();
            if (r.phase == MigrationPhase.COMPLETED) r.outcome = new ControlEvent.Report(s.id(), null, "completed before the agent restarted");
            else if (r.phase.terminal()) r.outcome = new ControlEvent.Failure(s.id(),
                    r.phase == MigrationPhase.CANCELLED ? ErrorKind.CANCELLED : ErrorKind.FAILED, s.error(), s.guest());
        }
        return r;
    }

    /** Writes this record to {@code j} now and on every phase change and at its end. */
    public synchronized void journal(MigrationJournal j) {
        journal = j;
        save();
    }

    /** Writes down what a restart needs to find this migration's traces (before acting on them). */
    public synchronized void fact(String name, String value) {
        if (value == null) facts.remove(name);
        else facts.put(name, value);
        save();
    }

    public synchronized String fact(String name) {
        return facts.get(name);
    }

    /** Every fact written down so far (a copy). */
    public synchronized java.util.Map<String, String> facts() {
        return java.util.Map.copyOf(facts);
    }

    public String role() {
        return role;
    }

    private void save() {   // called with this record locked
        if (journal != null) journal.save(new MigrationJournal.Entry(status(), facts));
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

    /** {@link System#nanoTime()} when the request arrived: the zero of the migration's timeline and report. */
    public long startNanos() {
        return startNanos;
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
        save();
        publish(new ControlEvent.PhaseChange(id, next, elapsedMillis()));
    }

    /** A progress sample (ignored after the end). */
    public synchronized void progress(MigrationProgress p) {
        if (phase.terminal()) return;
        progress = p;
        publish(new ControlEvent.Progress(id, phase, p, guest));
    }

    /** The migration completed with this report. */
    public void complete(ControlEvent.Report report) {
        end(MigrationPhase.COMPLETED, report, null);
    }

    /** The migration failed (or was cancelled: kind CANCELLED). */
    public void fail(ErrorKind kind, String message) {
        fail(kind, message, null);
    }

    /**
     * The migration failed, and this is where the guest is (QEMU's run state, looked up just now):
     * the message ends with it. A migration past the switchover is never reported CANCELLED.
     */
    public void fail(ErrorKind kind, String message, GuestLocation where) {
        if (kind == ErrorKind.CANCELLED && phase().switchedOver()) kind = ErrorKind.FAILED;
        MigrationPhase p = kind == ErrorKind.CANCELLED ? MigrationPhase.CANCELLED : MigrationPhase.FAILED;
        String full = where == null ? message : message + "; " + where.describe();
        synchronized (this) {
            if (where != null) guest = where;
        }
        end(p, new ControlEvent.Failure(id, kind, full, where), full);
    }

    /** Where the guest is, as last read from QEMU (null before the first look). */
    public synchronized GuestLocation guest() {
        return guest;
    }

    /** Records where the guest is, from QEMU's run state (the sessions look on every sample). */
    public synchronized void guest(GuestLocation where) {
        if (!phase.terminal()) guest = where;
    }

    private synchronized void end(MigrationPhase p, ControlEvent terminal, String message) {
        if (phase.terminal()) return;
        phase = p;
        outcome = terminal;
        error = message;
        if (message == null) LOG.info("migration {}: {} after {} ms", id, p, elapsedMillis());
        else LOG.warn("migration {}: {} after {} ms: {}", id, p, elapsedMillis(), message.replace('\n', ' '));
        if (audited) Audit.end(this, p, message);
        save();
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
        if (progress != null && outcome == null) watcher.accept(new ControlEvent.Progress(id, phase, progress, guest));
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
                phase.terminal() ? null : waitingFor, guest, caller, peerSubject);
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

    public String vm() {
        return vm;
    }

    public String peer() {
        return peer;
    }

    public String strategy() {
        return strategy;
    }

    /** Who asked for this migration (the source's caller, {@code uid=0(root) gid=0(root)}); null at a destination. */
    public String caller() {
        return caller;
    }

    synchronized void caller(String c) {
        caller = c;
        save();
    }

    /** The other agent's certificate subject (null before the connection, or between insecure agents). */
    public String peerSubject() {
        return peerSubject;
    }

    synchronized void peerSubject(String subject) {
        peerSubject = subject;
        save();
    }

    /** Its start is in the audit log ({@link Audit}): its end will be too. */
    void audited() {
        audited = true;
    }
}
