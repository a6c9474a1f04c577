package io.vmmig.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Ctrl-C during {@code vmmig migrate}: cancel before the switchover, detach after it. */
class MigrateInterruptTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final ScriptedAgent agent = new ScriptedAgent();
    private final CliHarness cli = new CliHarness();
    private final CountDownLatch cancelAsked = new CountDownLatch(1);

    MigrateInterruptTest() throws IOException {
        agent.on(ControlRequest.Op.CANCEL, (r, c) -> {
            c.send(new ControlEvent.Cancelling(r.id()));
            cancelAsked.countDown();
        });
    }

    @AfterEach
    void stop() throws IOException {
        agent.close();
        assertEquals(List.of(), agent.errors(), "scripted agent failures");
    }

    private CompletableFuture<Integer> migrate(String... extra) {
        String[] args = new String[4 + extra.length];
        System.arraycopy(new String[] {"migrate", "vm1", "b", "--socket=" + agent.socket()}, 0, args, 0, 4);
        System.arraycopy(extra, 0, args, 4, extra.length);
        return CompletableFuture.supplyAsync(() -> cli.run(args));
    }

    private void awaitCancelThenEndCancelled(ScriptedAgent.Connection c) throws Exception {
        assertTrue(cancelAsked.await(10, TimeUnit.SECONDS), "no cancel request");
        c.send(new ControlEvent.PhaseChange("m-1", MigrationPhase.CANCELLED, 800),
                new ControlEvent.Failure("m-1", ErrorKind.CANCELLED, "migration m-1 cancelled; the guest keeps running at the source"));
    }

    @Test
    void beforeTheSwitchoverCtrlCCancels() throws Exception {
        agent.on(ControlRequest.Op.MIGRATE, (r, c) -> {
            c.send(new ControlEvent.Accepted("m-1", "vm1", "b", "hybrid"), new ControlEvent.PhaseChange("m-1", MigrationPhase.MEMORY, 300));
            awaitCancelThenEndCancelled(c);
        });
        CompletableFuture<Integer> exit = migrate();
        cli.out.await("phase memory", WAIT);
        cli.interrupts.press();
        assertEquals(ErrorKind.CANCELLED.exitCode, exit.get(20, TimeUnit.SECONDS));
        assertEquals(ControlRequest.Op.MIGRATE, agent.nextRequest().op());
        assertEquals(ControlRequest.cancel("m-1"), agent.nextRequest());
        assertEquals("vmmig migrate: cancelling migration m-1 before its switchover\n"
                + "vmmig migrate: migration m-1 cancelled; the guest keeps running at the source\n", cli.err.text());
        assertTrue(cli.out.text().endsWith("phase cancelled: cancelled before the switchover; the error says where the guest runs\n"), cli.out.text());
        assertTrue(!cli.interrupts.registered(), "Ctrl-C handler removed at the end");
    }

    @Test
    void afterTheSwitchoverCtrlCDetaches() throws Exception {
        CountDownLatch clientClosed = new CountDownLatch(1);
        agent.on(ControlRequest.Op.MIGRATE, (r, c) -> {
            c.send(new ControlEvent.Accepted("m-1", "vm1", "b", "hybrid"), new ControlEvent.PhaseChange("m-1", MigrationPhase.CUTOVER, 300),
                    new ControlEvent.PhaseChange("m-1", MigrationPhase.PULLING, 330));
            if (c.awaitClientClose(WAIT)) clientClosed.countDown();
        });
        CompletableFuture<Integer> exit = migrate("--json");
        cli.out.await("\"PULLING\"", WAIT);
        cli.interrupts.press();
        assertEquals(ErrorKind.DETACHED.exitCode, exit.get(20, TimeUnit.SECONDS));
        assertEquals("detached: migration m-1 goes on in the agent; see `vmmig status m-1`\n", cli.err.text());
        assertTrue(clientClosed.await(10, TimeUnit.SECONDS), "the client closed its stream");
        assertEquals(ControlRequest.Op.MIGRATE, agent.nextRequest().op());
        assertNull(agent.pollRequest(Duration.ofMillis(300)), "no cancel after the switchover");
        assertEquals(3, cli.out.text().split("\n").length, "--json: only the agent's lines on stdout");
    }

    @Test
    void ctrlCBeforeTheIdIsKnownCancelsOnceAccepted() throws Exception {
        CountDownLatch pressed = new CountDownLatch(1);
        agent.on(ControlRequest.Op.MIGRATE, (r, c) -> {
            assertTrue(pressed.await(10, TimeUnit.SECONDS));
            c.send(new ControlEvent.Accepted("m-1", "vm1", "b", "hybrid"));
            awaitCancelThenEndCancelled(c);
        });
        CompletableFuture<Integer> exit = migrate();
        assertEquals(ControlRequest.Op.MIGRATE, agent.nextRequest().op());
        cli.interrupts.press();
        pressed.countDown();
        assertEquals(ErrorKind.CANCELLED.exitCode, exit.get(20, TimeUnit.SECONDS));
        assertEquals(ControlRequest.cancel("m-1"), agent.nextRequest());
    }

    @Test
    void aCancelThatLosesTheRaceEndsWithTheReport() throws Exception {
        agent.on(ControlRequest.Op.CANCEL, (r, c) -> {
            c.send(new ControlEvent.Failure(r.id(), ErrorKind.BAD_REQUEST, "migration m-1 already switched over"));
            cancelAsked.countDown();
        });
        agent.on(ControlRequest.Op.MIGRATE, (r, c) -> {
            c.send(new ControlEvent.Accepted("m-1", "vm1", "b", "hybrid"), new ControlEvent.PhaseChange("m-1", MigrationPhase.CUTOVER, 300));
            assertTrue(cancelAsked.await(10, TimeUnit.SECONDS));
            c.send(new ControlEvent.PhaseChange("m-1", MigrationPhase.PULLING, 330),
                    new ControlEvent.Report("m-1", null, "hybrid: done, downtime 20 ms"));
        });
        CompletableFuture<Integer> exit = migrate();
        cli.out.await("phase cutover", WAIT);
        cli.interrupts.press();
        assertEquals(0, exit.get(20, TimeUnit.SECONDS));
        assertTrue(cli.err.text().contains("the agent refused to cancel migration m-1: migration m-1 already switched over"), cli.err.text());
        assertTrue(cli.out.text().endsWith("hybrid: done, downtime 20 ms\n"), cli.out.text());
    }

    @Test
    void aCancelThatDoesNotEndInTimeStillExitsCancelled() throws Exception {
        agent.on(ControlRequest.Op.MIGRATE, (r, c) -> {
            c.send(new ControlEvent.Accepted("m-1", "vm1", "b", "hybrid"), new ControlEvent.PhaseChange("m-1", MigrationPhase.PUSHING, 30));
            c.awaitClientClose(WAIT);
        });
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> new MigrateSession(agent.socket(),
                ControlRequest.migrate("vm1", "b", "hybrid", null, null, null, null),
                new ProgressDisplay(cli.out.printStream(), false, System::nanoTime), cli.context(), Duration.ofSeconds(1)).run());
        cli.out.await("phase pushing", WAIT);
        long start = System.nanoTime();
        cli.interrupts.press();
        assertEquals(ErrorKind.CANCELLED.exitCode, exit.get(20, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - start >= 1_000_000_000L, "waited the cancel wait");
        assertTrue(cli.err.text().endsWith("vmmig migrate: cancel requested, but migration m-1 did not end within 1 s; "
                + "see `vmmig status m-1`\n"), cli.err.text());
    }

    @Test
    void aSecondCtrlCStopsWaitingForTheCancellation() throws Exception {
        agent.on(ControlRequest.Op.MIGRATE, (r, c) -> {
            c.send(new ControlEvent.Accepted("m-1", "vm1", "b", "hybrid"), new ControlEvent.PhaseChange("m-1", MigrationPhase.PUSHING, 30));
            c.awaitClientClose(WAIT);
        });
        CompletableFuture<Integer> exit = migrate();
        cli.out.await("phase pushing", WAIT);
        cli.interrupts.press();
        cli.err.await("cancelling migration m-1", WAIT);
        assertTrue(cancelAsked.await(10, TimeUnit.SECONDS));
        cli.interrupts.press();
        assertEquals(ErrorKind.CANCELLED.exitCode, exit.get(20, TimeUnit.SECONDS));
        assertTrue(cli.err.text().endsWith("vmmig migrate: stopped waiting; the cancellation of migration m-1 goes on in the agent; "
                + "see `vmmig status m-1`\n"), cli.err.text());
    }
}
