package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vmmig.agent.cli.ControlClient;
import io.vmmig.agent.cli.ReceivedEvent;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationStatus;
import io.vmmig.it.migration.Poll;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.testkit.net.NetworkLab;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pull-phase cells of the fault matrix, at process level: two real agents in two network
 * namespaces (mutual TLS over a veth pair), the writing test guest in a real QEMU on host A, the real
 * {@code vmmig} CLI. A fault hits while the destination pulls (its background pull held to
 * {@code pull-bandwidth} so that the window is long); each cell ends with the guest's VERIFY at the
 * destination (no I/O error seen by its workload) and the destination's own report: no chunk fetched twice.
 * Each cell prints one {@code FAULT-MATRIX} line with what it measured.
 */
class PullFaultIT {
    /** 1 MiB/s of background pull: ~16 MiB left at the switchover takes some 15 s to pull. */
    private static final String SLOW_PULL = "pull-bandwidth = 1048576";
    private static final int AREA_MIB = 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void needsTheLab() {
        assumeTrue(NetworkLab.unavailableReason().isEmpty(), () -> NetworkLab.unavailableReason().orElse(""));
    }

    /** A migration run by the CLI in the background; {@link #pulling} completes with its id once the destination pulls. */
    private static final class Run {
        final CompletableFuture<String> pulling = new CompletableFuture<>();
        final CompletableFuture<Cli.Result> result;
        final long startNanos = System.nanoTime();

        Run(LabAgents hosts, TestVm vm, String... extra) {
            List<String> args = new java.util.ArrayList<>(List.of("migrate", vm.qmpSocket().toString(), hosts.destB(),
                    "--strategy", "hybrid", "--bandwidth", "1M", "--memory-bandwidth", "unlimited", "--json"));   // slow push, memory as fast as it goes
            args.addAll(List.of(extra));
            result = CompletableFuture.supplyAsync(() -> {
                try {
                    return Cli.run(hosts.a.controlSocket, args, line -> {
                        ControlEvent e = ControlCodec.decodeEvent(line);
                        if (e instanceof ControlEvent.Progress p && p.phase() == MigrationPhase.PULLING && p.progress().pulledBytes() > 0)
                            pulling.complete(p.id());
                    });
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            result.whenComplete((r, e) -> pulling.completeExceptionally(new IllegalStateException("the migration ended before"
                    + " the pull was seen: " + (r == null ? e : r.stdout().get(r.stdout().size() - 1) + " " + r.stderr()))));
        }

        String awaitPulling() throws Exception {
            return pulling.get(4, TimeUnit.MINUTES);
        }

        Cli.Result awaitEnd() throws Exception {
            return result.get(6, TimeUnit.MINUTES);
        }

        double seconds() {
            return (System.nanoTime() - startNanos) / 1e9;
        }
    }

    /** Watches the destination's record of {@code id} on agent B until its outcome; the destination report. */
    private static CompletableFuture<DestinationReport> destinationOutcome(LabAgents hosts, String id) {
        return CompletableFuture.supplyAsync(() -> {
            try (ControlClient c = ControlClient.connect(hosts.b.controlSocket)) {
                c.send(ControlRequest.watch(id));
                Instant deadline = Instant.now().plus(Duration.ofMinutes(6));
                while (true) {
                    ReceivedEvent e = c.next(deadline);
                    if (e == null) continue;
                    if (e.event() instanceof ControlEvent.Report r)
                        return ControlCodec.mapper().treeToValue(r.report(), DestinationReport.class);
                    if (e.event() instanceof ControlEvent.Failure f)
                        throw new IllegalStateException("destination: " + f.kind() + " " + f.message());
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static MigrationStatus statusAtB(LabAgents hosts, String id) throws Exception {
        Cli.Result r = Cli.run(hosts.b.controlSocket, List.of("status", id, "--json"));
        assertEquals(0, r.exitCode(), r.stderr());
        return ((ControlEvent.Status) r.events().get(0)).migration();
    }

    private static String waitingAtB(LabAgents hosts, String id) {
        try {
            return statusAtB(hosts, id).waitingFor();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The CLI reported success, the guest runs at the destination and reads its disk back whole, without an I/O error. */
    private static String assertLandedIntact(LabAgents hosts, TestVm vm, String id, Cli.Result r) throws Exception {
        ControlEvent last = r.events().get(r.events().size() - 1);
        assertInstanceOf(ControlEvent.Report.class, last, () -> "migration failed: " + last + "\nagent a:\n" + hosts.a.logTail()
                + "\nagent b:\n" + hosts.b.logTail());
        assertEquals(0, r.exitCode(), r.stderr());
        assertTrue(vm.qemu.awaitExit(Duration.ofSeconds(60)).isPresent(), "the source QEMU quit once the destination had everything");
        try (QmpClient dst = QmpClient.connect(hosts.stateOfB(id).resolve("qmp.sock"))) {
            assertEquals("running", dst.call(new QueryStatus()).status());
            String verdict = vm.verifyAtDestination();
            String diagnosis = vm.diskDiagnosis(verdict, destinationImage(hosts, vm));
            if (!diagnosis.isEmpty()) System.out.println(diagnosis);
            assertTrue(verdict.startsWith("VERIFY OK") && verdict.endsWith(" ioerrors=0"), () -> "at the destination: " + verdict
                    + "\n" + diagnosis + "guest console at the destination:\n" + vm.destinationConsoleTail(30) + "\nagent a:\n" + hosts.a.logTail()
                    + "\nagent b:\n" + hosts.b.logTail());
            dst.call(new Quit());
            return verdict;
        }
    }

    /** Where agent B put the guest's disk (its image directory, the source image's name). */
    private static Path destinationImage(LabAgents hosts, TestVm vm) {
        return hosts.dir.resolve("b/images").resolve(vm.name + ".qcow2");
    }

    /**
     * The destination's pull journal ({@code pull/journal.bin}, 13-byte records, kind 1 = installed):
     * how many chunks were installed, across agent restarts; fails if one was installed twice (fetched twice).
     */
    private static int installedOnce(LabAgents hosts, String id) throws Exception {
        java.nio.ByteBuffer j = java.nio.ByteBuffer.wrap(java.nio.file.Files.readAllBytes(hosts.stateOfB(id).resolve("pull/journal.bin")));
        java.util.BitSet installed = new java.util.BitSet();
        int n = 0;
        while (j.remaining() >= 13) {
            byte kind = j.get();
            int chunk = j.getInt();
            j.getInt();
            j.getInt();
            if (kind != 1) continue;
            assertTrue(!installed.get(chunk), "chunk " + chunk + " installed (fetched) twice");
            installed.set(chunk);
            n++;
        }
        return n;
    }

    private static void matrix(String cell, Run run, String verdict, DestinationReport d, int installed) {
        System.out.printf("FAULT-MATRIX %s | %.1f s | %s | refetched %d (journal: %d chunks installed, each once), resumes %d, pulls re-sent %d,"
                + " pulled by the last agent %.1f MiB%n",
                cell, run.seconds(), verdict, d.refetchedChunks(), installed, d.resumes(), d.resentPulls(), d.pulledBytes() / 1048576.0);
    }

    @Test
    void linkCutFor5sDuringThePull() throws Exception {
        try (LabAgents hosts = LabAgents.start(dir, List.of(), List.of(SLOW_PULL));
             TestVm vm = TestVm.boot(dir, "vm-cut5", AREA_MIB, 300, hosts.qemuOnA.toString())) {
            Run run = new Run(hosts, vm);
            String id = run.awaitPulling();
            CompletableFuture<DestinationReport> outcome = destinationOutcome(hosts, id);
            hosts.link(false);
            Thread.sleep(5000);   // the fault itself lasts 5 s: a sleep is the point here
            hosts.link(true);
            String verdict = assertLandedIntact(hosts, vm, id, run.awaitEnd());
            DestinationReport d = outcome.get(2, TimeUnit.MINUTES);
            assertEquals(0, d.refetchedChunks(), "no chunk fetched twice: " + d);
            matrix("link cut 5 s during the pull", run, verdict, d, installedOnce(hosts, id));
        }
    }

    @Test
    void linkDownFor60sDuringThePullShowsWaitingForTheSource() throws Exception {
        try (LabAgents hosts = LabAgents.start(dir, List.of(), List.of(SLOW_PULL));
             TestVm vm = TestVm.boot(dir, "vm-cut60", AREA_MIB, 300, hosts.qemuOnA.toString())) {
            Run run = new Run(hosts, vm);
            String id = run.awaitPulling();
            CompletableFuture<DestinationReport> outcome = destinationOutcome(hosts, id);
            hosts.link(false);
            long down = System.nanoTime();
            Poll.until("vmmig status at the destination shows it waiting for the source", Duration.ofSeconds(45),
                    () -> "source".equals(waitingAtB(hosts, id)));
            MigrationStatus waiting = statusAtB(hosts, id);
            assertEquals(MigrationPhase.PULLING, waiting.phase(), waiting.toString());
            Thread.sleep(Math.max(0, 60_000 - (System.nanoTime() - down) / 1_000_000));   // the fault lasts 60 s
            assertEquals("source", statusAtB(hosts, id).waitingFor(), "still waiting after 60 s, nothing given up");
            hosts.link(true);
            String verdict = assertLandedIntact(hosts, vm, id, run.awaitEnd());
            DestinationReport d = outcome.get(2, TimeUnit.MINUTES);
            assertEquals(0, d.refetchedChunks(), "no chunk fetched twice: " + d);
            assertTrue(d.resumes() >= 1, "the pull resumed on a new connection: " + d);
            matrix("link down 60 s during the pull", run, verdict, d, installedOnce(hosts, id));
        }
    }

    @Test
    void aPullFarLongerThanTheStepTimeoutCompletes() throws Exception {
        // step timeout 10 s; the link is throttled by tbf to 4 Mbit/s once the destination pulls
        try (LabAgents hosts = LabAgents.start(dir, List.of("timeout = 10"), List.of("timeout = 10", SLOW_PULL));
             TestVm vm = TestVm.boot(dir, "vm-long", AREA_MIB, 300, hosts.qemuOnA.toString())) {
            Run run = new Run(hosts, vm);
            String id = run.awaitPulling();
            long pullStart = System.nanoTime();
            hosts.lab.shape(4_000_000L);
            CompletableFuture<DestinationReport> outcome = destinationOutcome(hosts, id);
            Cli.Result r = run.awaitEnd();
            double pullSeconds = (System.nanoTime() - pullStart) / 1e9;
            hosts.lab.unshaped();
            String verdict = assertLandedIntact(hosts, vm, id, r);
            DestinationReport d = outcome.get(2, TimeUnit.MINUTES);
            assertTrue(pullSeconds > 20, "the pull lasted " + pullSeconds + " s, more than twice the 10 s step timeout");
            matrix(String.format("pull of %.0f s, step timeout 10 s, tbf 4 Mbit/s", pullSeconds), run, verdict, d, installedOnce(hosts, id));
        }
    }

    @Test
    void sourceAgentKilledAndRestartedDuringThePull() throws Exception {
        try (LabAgents hosts = LabAgents.start(dir, List.of(), List.of(SLOW_PULL));
             TestVm vm = TestVm.boot(dir, "vm-src-kill", AREA_MIB, 300, hosts.qemuOnA.toString())) {
            Run run = new Run(hosts, vm);
            String id = run.awaitPulling();
            CompletableFuture<DestinationReport> outcome = destinationOutcome(hosts, id);
            hosts.restart("a");   // SIGKILL: its CLI connection goes with it; the source QEMU stays in postmigrate
            Cli.Result cli = run.awaitEnd();
            assertTrue(cli.exitCode() != 0, "the CLI lost its agent: " + cli.stderr());
            Poll.until("the restarted source agent took the migration back and finished it", Duration.ofMinutes(4),
                    () -> statusAt(hosts.a, id).phase() == MigrationPhase.COMPLETED);
            DestinationReport d = outcome.get(4, TimeUnit.MINUTES);
            assertTrue(vm.qemu.awaitExit(Duration.ofSeconds(60)).isPresent(), "the source QEMU quit once the destination had everything");
            String verdict;
            try (QmpClient dst = QmpClient.connect(hosts.stateOfB(id).resolve("qmp.sock"))) {
                assertEquals("running", dst.call(new QueryStatus()).status());
                verdict = vm.verifyAtDestination();
                String v = verdict;
                String diagnosis = vm.diskDiagnosis(verdict, destinationImage(hosts, vm));
                assertTrue(verdict.startsWith("VERIFY OK") && verdict.endsWith(" ioerrors=0"), () -> "at the destination: " + v + "\n" + diagnosis);
                dst.call(new Quit());
            }
            assertEquals(0, d.refetchedChunks(), "no chunk fetched twice: " + d);
            assertTrue(d.resumes() >= 1, "the pull resumed with the restarted source: " + d);
            matrix("source agent SIGKILL + restart during the pull", run, verdict, d, installedOnce(hosts, id));
        }
    }

    @Test
    void destinationAgentKilledAndRestartedDuringThePullTheGuestOnlyStalls() throws Exception {
        try (LabAgents hosts = LabAgents.start(dir, List.of(), List.of(SLOW_PULL));
             TestVm vm = TestVm.boot(dir, "vm-dst-kill", AREA_MIB, 300, hosts.qemuOnA.toString())) {
            Run run = new Run(hosts, vm);
            String id = run.awaitPulling();
            hosts.restart("b");   // SIGKILL: the guest's disk node loses the agent's NBD server until the new one serves it
            CompletableFuture<DestinationReport> outcome = destinationOutcome(hosts, id);
            String verdict = assertLandedIntact(hosts, vm, id, run.awaitEnd());
            DestinationReport d = outcome.get(4, TimeUnit.MINUTES);
            assertEquals(0, d.refetchedChunks(), "no chunk fetched twice: " + d);
            assertTrue(d.resumes() >= 1, "the restarted agent resumed the pull: " + d);
            matrix("destination agent SIGKILL + restart during the pull", run, verdict, d, installedOnce(hosts, id));
        }
    }

    private static MigrationStatus statusAt(AgentProcess agent, String id) {
        try {
            Cli.Result r = Cli.run(agent.controlSocket, List.of("status", id, "--json"));
            if (r.exitCode() != 0) return new MigrationStatus(id, "?", "?", "?", "?", MigrationPhase.PREPARING, "", null, r.stderr());
            return ((ControlEvent.Status) r.events().get(0)).migration();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void destinationAgentKilledAfterAMigrationLeavesTheGuestRunningAndListsItAfterARestart() throws Exception {
        try (LabAgents hosts = LabAgents.start(dir, List.of(), List.of());
             TestVm vm = TestVm.boot(dir, "vm-after", 8, 300, hosts.qemuOnA.toString())) {
            Run run = new Run(hosts, vm);
            Cli.Result r = run.awaitEnd();
            ControlEvent last = r.events().get(r.events().size() - 1);
            assertInstanceOf(ControlEvent.Report.class, last, () -> "migration failed: " + last + "\n" + hosts.b.logTail());
            String id = ((ControlEvent.Accepted) r.events().get(0)).id();
            long qemuPid = Long.parseLong(java.nio.file.Files.readString(hosts.stateOfB(id).resolve("qemu.pid")).trim());
            hosts.restart("b");   // SIGKILL, then the same configuration again
            assertTrue(ProcessHandle.of(qemuPid).map(ProcessHandle::isAlive).orElse(false), "the destination QEMU outlived its agent");
            Cli.Result list = Cli.run(hosts.b.controlSocket, List.of("list", "--json"));
            assertEquals(0, list.exitCode(), list.stderr());
            List<MigrationStatus> all = ((ControlEvent.Listing) list.events().get(0)).migrations();
            assertTrue(all.stream().anyMatch(m -> m.id().equals(id) && m.phase() == MigrationPhase.COMPLETED
                    && m.role().equals("destination")), "the restarted agent lists the guest it started: " + all);
            Cli.Result human = Cli.run(hosts.b.controlSocket, List.of("list"));
            assertTrue(String.join("\n", human.stdout()).contains(id), human.stdout().toString());
            try (QmpClient dst = QmpClient.connect(hosts.stateOfB(id).resolve("qmp.sock"))) {
                assertEquals("running", dst.call(new QueryStatus()).status());
                String verdict = vm.verifyAtDestination();
                String diagnosis = vm.diskDiagnosis(verdict, destinationImage(hosts, vm));
                assertTrue(verdict.startsWith("VERIFY OK") && verdict.endsWith(" ioerrors=0"), () -> verdict + "\n" + diagnosis);
                System.out.printf("FAULT-MATRIX destination agent SIGKILL after the migration | %.1f s | %s | listed after restart: %s%n",
                        run.seconds(), verdict, id);
                dst.call(new Quit());
            }
        }
    }
}
