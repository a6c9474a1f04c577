package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationProgress;
import io.vmmig.agent.control.MigrationStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class MigrationRecordTest {
    private static final MigrationProgress P1 = new MigrationProgress(100, 1 << 20, 4096, 8192, 0, 0, 0, 0, 40960, 1);
    private static final MigrationProgress P2 = new MigrationProgress(200, 1 << 20, 8192, 4096, 0, 0, 0, 0, 40960, 1);

    private static MigrationRecord source() {
        return new MigrationRecord("m-1", "source", "web1", "dst:7410", "hybrid");
    }

    /** Collects events; {@code phases()} lists the phase changes in order. */
    private static final class Events implements Consumer<ControlEvent> {
        final List<ControlEvent> all = new CopyOnWriteArrayList<>();

        @Override
        public void accept(ControlEvent e) {
            all.add(e);
        }

        List<MigrationPhase> phases() {
            List<MigrationPhase> out = new ArrayList<>();
            for (ControlEvent e : all) if (e instanceof ControlEvent.PhaseChange p) out.add(p.phase());
            return out;
        }

        List<Class<?>> types() {
            return all.stream().<Class<?>>map(Object::getClass).toList();
        }
    }

    @Test
    void phasesMoveForwardOnlyAndStopAtTheEnd() {
        MigrationRecord r = source();
        Events ev = new Events();
        r.watch(ev);
        assertEquals(MigrationPhase.PREPARING, r.phase());
        r.phase(MigrationPhase.PUSHING);
        r.phase(MigrationPhase.PUSHING);        // already there
        r.phase(MigrationPhase.MEMORY);
        r.phase(MigrationPhase.PUSHING);        // a late sampler: ignored
        r.phase(MigrationPhase.PULLING);        // phases may be skipped (no CUTOVER sample)
        r.phase(MigrationPhase.MEMORY);         // never back before the switchover
        assertEquals(MigrationPhase.PULLING, r.phase());
        r.phase(MigrationPhase.FINISHING);
        r.complete(new ControlEvent.Report("m-1", JsonNodeFactory.instance.objectNode().put("totalMillis", 5), "done"));
        r.phase(MigrationPhase.PULLING);        // after the end: ignored
        r.fail(ErrorKind.FAILED, "too late");   // the outcome is final
        r.progress(P1);                         // no progress after the end
        assertEquals(MigrationPhase.COMPLETED, r.phase());
        assertEquals(List.of(MigrationPhase.PREPARING, MigrationPhase.PUSHING, MigrationPhase.MEMORY, MigrationPhase.PULLING,
                MigrationPhase.FINISHING, MigrationPhase.COMPLETED), ev.phases());
        ControlEvent last = ev.all.get(ev.all.size() - 1);
        assertInstanceOf(ControlEvent.Report.class, last);
        assertEquals(1, ev.all.stream().filter(ControlEvent::terminal).count(), ev.all.toString());
        assertNull(r.status().error());
        assertTrue(ev.all.stream().noneMatch(e -> e instanceof ControlEvent.Progress));
    }

    @Test
    void terminalPhasesOnlyThroughCompleteOrFail() {
        MigrationRecord r = source();
        for (MigrationPhase p : List.of(MigrationPhase.COMPLETED, MigrationPhase.FAILED, MigrationPhase.CANCELLED)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.phase(p));
            assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        }
        assertEquals(MigrationPhase.PREPARING, r.phase());
    }

    @Test
    void failureAndCancellationEndWithTheirKind() {
        MigrationRecord failed = source();
        Events ev = new Events();
        failed.watch(ev);
        failed.phase(MigrationPhase.PUSHING);
        failed.fail(ErrorKind.NO_SPACE, "no room at the destination");
        assertEquals(MigrationPhase.FAILED, failed.phase());
        assertEquals(new ControlEvent.Failure("m-1", ErrorKind.NO_SPACE, "no room at the destination"), ev.all.get(ev.all.size() - 1));
        assertEquals(MigrationPhase.FAILED, ev.phases().get(ev.phases().size() - 1));
        MigrationStatus s = failed.status();
        assertEquals("no room at the destination", s.error());
        assertEquals(MigrationPhase.FAILED, s.phase());

        MigrationRecord cancelled = source();
        cancelled.fail(ErrorKind.CANCELLED, "cancelled by the operator");
        assertEquals(MigrationPhase.CANCELLED, cancelled.phase());
        assertEquals("cancelled by the operator", cancelled.status().error());
    }

    @Test
    void progressCarriesTheCurrentPhaseAndIsKeptForStatus() {
        MigrationRecord r = source();
        Events ev = new Events();
        r.watch(ev);
        assertNull(r.status().progress());
        r.phase(MigrationPhase.MEMORY);
        r.progress(P1);
        assertEquals(new ControlEvent.Progress("m-1", MigrationPhase.MEMORY, P1), ev.all.get(ev.all.size() - 1));
        r.progress(P2);
        MigrationStatus s = r.status();
        assertEquals(P2, s.progress());
        assertEquals("m-1", s.id());
        assertEquals("source", s.role());
        assertEquals("web1", s.vm());
        assertEquals("dst:7410", s.peer());
        assertEquals("hybrid", s.strategy());
        Instant started = Instant.parse(s.startedAt());
        assertTrue(!started.isAfter(Instant.now()), s.startedAt());
    }

    @Test
    void watchReplaysWhereTheMigrationStands() {
        MigrationRecord r = source();
        r.phase(MigrationPhase.PUSHING);
        r.progress(P1);
        r.progress(P2);
        Events ev = new Events();
        r.watch(ev);
        assertEquals(List.of(ControlEvent.Accepted.class, ControlEvent.PhaseChange.class, ControlEvent.Progress.class), ev.types());
        assertEquals(new ControlEvent.Accepted("m-1", "web1", "dst:7410", "hybrid"), ev.all.get(0));
        assertEquals(MigrationPhase.PUSHING, ((ControlEvent.PhaseChange) ev.all.get(1)).phase());
        assertEquals(new ControlEvent.Progress("m-1", MigrationPhase.PUSHING, P2), ev.all.get(2), "the latest sample only");
        r.phase(MigrationPhase.MEMORY);
        assertEquals(MigrationPhase.MEMORY, ev.phases().get(1), "then the new events");
    }

    @Test
    void watchAfterTheEndReplaysTheOutcomeWithoutProgress() {
        MigrationRecord r = source();
        r.phase(MigrationPhase.PUSHING);
        r.progress(P1);
        r.fail(ErrorKind.UNREACHABLE, "destination gone");
        Events ev = new Events();
        r.watch(ev);
        assertEquals(List.of(ControlEvent.Accepted.class, ControlEvent.PhaseChange.class, ControlEvent.Failure.class), ev.types());
        assertEquals(List.of(MigrationPhase.FAILED), ev.phases());
        assertEquals(new ControlEvent.Failure("m-1", ErrorKind.UNREACHABLE, "destination gone"), ev.all.get(2));
    }

    @Test
    void closedWatchAndThrowingWatcherStopReceiving() {
        MigrationRecord r = source();
        Events closed = new Events();
        Events kept = new Events();
        List<ControlEvent> toThrowing = new ArrayList<>();
        MigrationRecord.Watch w = r.watch(closed);
        r.watch(kept);
        r.watch(e -> {
            toThrowing.add(e);
            if (e instanceof ControlEvent.PhaseChange p && p.phase() == MigrationPhase.PUSHING)
                throw new IllegalStateException("client gone");
        });
        w.close();
        r.phase(MigrationPhase.PUSHING);    // the throwing watcher is dropped here
        r.phase(MigrationPhase.MEMORY);
        r.progress(P1);
        assertEquals(2, closed.all.size(), "only the replay: " + closed.all);
        assertEquals(3, toThrowing.size(), "replay and the event it threw on: " + toThrowing);
        assertEquals(List.of(MigrationPhase.PREPARING, MigrationPhase.PUSHING, MigrationPhase.MEMORY), kept.phases(),
                "the others go on");
        assertInstanceOf(ControlEvent.Progress.class, kept.all.get(kept.all.size() - 1));
    }

    @Test
    void cancelGoesToTheSessionBeforeTheSwitchover() throws Exception {
        MigrationRecord r = source();
        List<String> reasons = new ArrayList<>();
        r.onCancel(reasons::add);
        r.phase(MigrationPhase.MEMORY);
        r.cancel("operator changed their mind");
        assertEquals(List.of("operator changed their mind"), reasons);
        r.phase(MigrationPhase.CUTOVER);
        r.cancel("still before the switchover");
        assertEquals(2, reasons.size());
    }

    @Test
    void cancelRefusedAfterTheSwitchover() {
        for (MigrationPhase p : List.of(MigrationPhase.PULLING, MigrationPhase.FINISHING)) {
            MigrationRecord r = source();
            List<String> reasons = new ArrayList<>();
            r.onCancel(reasons::add);
            r.phase(p);
            AgentException e = assertThrows(AgentException.class, () -> r.cancel("now"));
            assertEquals(ErrorKind.BAD_REQUEST, e.kind());
            assertTrue(e.getMessage().contains("m-1 already switched over"), e.getMessage());
            assertTrue(e.getMessage().contains("runs at the destination"), e.getMessage());
            assertEquals(List.of(), reasons);
        }
    }

    @Test
    void cancelRefusedAfterTheEnd() {
        MigrationRecord done = source();
        done.onCancel(r -> { throw new AssertionError("must not be called"); });
        done.complete(new ControlEvent.Report("m-1", null, "done"));
        AgentException e = assertThrows(AgentException.class, () -> done.cancel("now"));
        assertEquals(ErrorKind.BAD_REQUEST, e.kind());
        assertTrue(e.getMessage().contains("m-1 already ended (COMPLETED)"), e.getMessage());

        MigrationRecord failed = source();
        failed.fail(ErrorKind.FAILED, "x");
        assertTrue(assertThrows(AgentException.class, () -> failed.cancel("now")).getMessage().contains("already ended (FAILED)"));
    }

    @Test
    void cancelRefusedAtTheDestinationAndWithoutASession() {
        MigrationRecord dest = new MigrationRecord("m-2", "destination", "web1", "10.0.0.1:40000", "hybrid");
        dest.onCancel(r -> { throw new AssertionError("must not be called"); });
        AgentException e = assertThrows(AgentException.class, () -> dest.cancel("now"));
        assertEquals(ErrorKind.BAD_REQUEST, e.kind());
        assertTrue(e.getMessage().contains("m-2 is cancelled from its source agent"), e.getMessage());
        assertEquals(ErrorKind.BAD_REQUEST, assertThrows(AgentException.class, () -> source().cancel("now")).kind());
    }

    /**
     * A watcher that arrives while the migration moves sees the replay first and then each later
     * event once: never an event before "accepted", never the outcome twice.
     */
    @Test
    void watchRacingWithEventsSeesAConsistentStream() throws Exception {
        for (int round = 0; round < 200; round++) {
            MigrationRecord r = source();
            CountDownLatch go = new CountDownLatch(1);
            Thread session = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                r.phase(MigrationPhase.PUSHING);
                for (int i = 0; i < 20; i++) r.progress(P1);
                r.phase(MigrationPhase.MEMORY);
                r.fail(ErrorKind.FAILED, "boom");
            });
            session.start();
            Events ev = new Events();
            go.countDown();
            r.watch(ev);
            session.join(TimeUnit.SECONDS.toMillis(10));
            assertInstanceOf(ControlEvent.Accepted.class, ev.all.get(0), "round " + round + ": " + ev.all);
            assertInstanceOf(ControlEvent.PhaseChange.class, ev.all.get(1), "round " + round + ": " + ev.all);
            assertEquals(1, ev.all.stream().filter(e -> e instanceof ControlEvent.Failure).count(), "round " + round + ": " + ev.all);
            assertInstanceOf(ControlEvent.Failure.class, ev.all.get(ev.all.size() - 1), "round " + round + ": " + ev.all);
            List<MigrationPhase> phases = ev.phases();
            for (int i = 1; i < phases.size(); i++)
                assertTrue(phases.get(i).ordinal() > phases.get(i - 1).ordinal(), "round " + round + ": " + phases);
        }
    }
}
