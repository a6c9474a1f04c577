package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real agents (two processes, mutual TLS 1.3), real QEMUs with the writing test guest: migrations
 * driven through the source agent's control socket, each strategy, a cancellation mid-push, two at once.
 */
class AgentMigrationIT {
    @TempDir
    static Path dir;
    static AgentHosts hosts;

    @BeforeAll
    static void agents() throws Exception {
        TestPki pki = AgentHosts.pki(dir);
        hosts = AgentHosts.start(dir, pki, List.of(), List.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (hosts != null) hosts.close();
    }

    static List<ControlEvent> migrate(TestVm vm, String strategy, Long bandwidth) throws Exception {
        return ControlClient.exchange(hosts.a.controlSocket,
                ControlRequest.migrate(vm.qmpSocket().toString(), hosts.destB(), strategy, bandwidth, null, null, null),
                e -> { if (!(e instanceof ControlEvent.Progress)) System.out.println(vm.name + ": " + e); });
    }

    /** The migration completed, the source QEMU quit, the guest runs at the destination and reads back its disk. */
    static String assertLanded(TestVm vm, List<ControlEvent> events) throws Exception {
        ControlEvent last = events.get(events.size() - 1);
        assertInstanceOf(ControlEvent.Report.class, last, () -> vm.name + " failed: " + last + "\nagent a:\n" + hosts.a.logTail()
                + "\nagent b:\n" + hosts.b.logTail());
        String id = ((ControlEvent.Accepted) events.get(0)).id();
        assertTrue(vm.qemu.awaitExit(Duration.ofSeconds(30)).isPresent(), "source QEMU quit after the migration");
        assertTrue(Files.exists(hosts.imagesOf(hosts.b).resolve(vm.name + ".qcow2")), "destination image");
        try (QmpClient dst = QmpClient.connect(dir.resolve("b/state/m").resolve(id).resolve("qmp.sock"))) {
            assertEquals("running", dst.call(new QueryStatus()).status());
            String verdict = vm.verifyAtDestination();
            assertTrue(verdict.startsWith("VERIFY OK"), vm.name + " at the destination: " + verdict);
            dst.call(new Quit());
        }
        return id;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hybrid", "precopy", "postcopy", "mirror", "mirror-wb"})
    void eachStrategyMigratesAWritingGuest(String strategy) throws Exception {
        try (TestVm vm = TestVm.boot(dir, "vm-" + strategy, 16, 1000)) {
            List<ControlEvent> events = migrate(vm, strategy, null);
            assertLanded(vm, events);
            List<MigrationPhase> phases = events.stream().filter(e -> e instanceof ControlEvent.PhaseChange)
                    .map(e -> ((ControlEvent.PhaseChange) e).phase()).toList();
            for (int i = 1; i < phases.size(); i++)
                assertTrue(phases.get(i).ordinal() > phases.get(i - 1).ordinal(), "phases in order: " + phases);
            assertTrue(phases.contains(MigrationPhase.FINISHING) && phases.get(phases.size() - 1) == MigrationPhase.COMPLETED,
                    "phases: " + phases);
            assertTrue(events.stream().anyMatch(e -> e instanceof ControlEvent.Progress), "progress was reported");
        }
    }

    @Test
    void cancelMidPushLeavesTheSourceAsItWas() throws Exception {
        try (TestVm vm = TestVm.boot(dir, "vm-cancel", 16, 500)) {
            TestVm.Snapshot before = vm.snapshot();
            CompletableFuture<String> id = new CompletableFuture<>();
            CompletableFuture<List<ControlEvent>> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return ControlClient.exchange(hosts.a.controlSocket, ControlRequest.migrate(vm.qmpSocket().toString(),
                            hosts.destB(), "hybrid", 1L << 20, null, null, null), e -> {
                                if (e instanceof ControlEvent.Progress p && p.progress().pushedBytes() > 0) id.complete(p.id());
                            });
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            String m = id.get(60, TimeUnit.SECONDS);
            List<ControlEvent> answer = ControlClient.exchange(hosts.a.controlSocket, ControlRequest.cancel(m), e -> { });
            assertInstanceOf(ControlEvent.Cancelling.class, answer.get(0), answer::toString);
            List<ControlEvent> events = run.get(60, TimeUnit.SECONDS);
            ControlEvent last = events.get(events.size() - 1);
            assertTrue(last instanceof ControlEvent.Failure f && f.kind() == ErrorKind.CANCELLED, "ends CANCELLED: " + last);
            assertTrue(vm.qemu.isAlive(), "the source QEMU still runs");
            TestVm.Snapshot after = vm.snapshot();
            assertEquals("running", after.status());
            assertEquals(before, after, "the source's block layer is as it was");
            assertFalse(after.block().hasVmmigTraces());
            assertTrue(vm.verifyAtSource().startsWith("VERIFY OK"));
            Path image = hosts.imagesOf(hosts.b).resolve("vm-cancel.qcow2");
            assertTrue(Poll.until(() -> !Files.exists(image), Duration.ofSeconds(30)), "the destination removed " + image);
            assertTrue(Poll.until(() -> !QemuProcesses.anyMentions(dir.resolve("b/state/m").resolve(m).toString()), Duration.ofSeconds(30)),
                    "no destination QEMU is left");
        }
    }

    @Test
    void twoMigrationsAtOnceBothLand() throws Exception {
        try (TestVm one = TestVm.boot(dir, "vm-one", 8, 500); TestVm two = TestVm.boot(dir, "vm-two", 8, 500)) {
            CompletableFuture<List<ControlEvent>> a = CompletableFuture.supplyAsync(() -> run(one));
            CompletableFuture<List<ControlEvent>> b = CompletableFuture.supplyAsync(() -> run(two));
            String idA = assertLanded(one, a.get(3, TimeUnit.MINUTES));
            String idB = assertLanded(two, b.get(3, TimeUnit.MINUTES));
            assertFalse(idA.equals(idB));
        }
    }

    private static List<ControlEvent> run(TestVm vm) {
        try {
            return migrate(vm, "hybrid", null);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
