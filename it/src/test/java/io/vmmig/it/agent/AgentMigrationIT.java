package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.vm.DestinationCommandLine;
import io.vmmig.it.migration.Poll;
import io.vmmig.qmp.EventFilter;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpEventListener;
import io.vmmig.qmp.command.QmpCommands;
import io.vmmig.qmp.command.QmpResults;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.strategy.qemu.MigrationReport;
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
 * Real agents (two processes, mutual TLS 1.3), real QEMUs with the writing test guest, and the real
 * {@code vmmig} CLI as a process ({@code --json}, parsed): each strategy, a cancellation mid-push with
 * {@code vmmig cancel}, two migrations at once.
 */
class AgentMigrationIT {
    @TempDir
    static Path dir;
    static AgentHosts hosts;

    @BeforeAll
    static void agents() throws Exception {
        TestPki pki = AgentHosts.pki(dir);
        // the source compresses every chunk with zstd (the default, adaptive, mostly turns it off on loopback);
        // the destination runs a post-switchover hook that records its arguments and environment
        Path hook = dir.resolve("post-switchover.sh");
        Files.writeString(hook, "#!/bin/sh\n{ echo \"args: $*\"; env | grep '^VMMIG_' | sort; } > "
                + dir.resolve("hook-") + "\"$VMMIG_MIGRATION_ID\".txt\n");
        Files.setPosixFilePermissions(hook, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        hosts = AgentHosts.start(dir, pki, List.of("compression = zstd"),
                List.of("post-switchover = " + hook, "post-switchover.timeout = 20", "announce.rounds = 3"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (hosts != null) hosts.close();
    }

    /** {@code vmmig migrate VM DEST --strategy S --json} as a process; its events, checked against its exit code. */
    static List<ControlEvent> migrate(TestVm vm, String strategy) throws Exception {
        Cli.Result r = Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(),
                "--strategy", strategy, "--json"));
        List<ControlEvent> events = r.events();
        ControlEvent last = events.get(events.size() - 1);
        int expected = last instanceof ControlEvent.Failure f ? f.kind().exitCode : 0;
        assertEquals(expected, r.exitCode(), "exit code for " + last + "; stderr: " + r.stderr());
        return events;
    }

    /** The migration completed, the source QEMU quit, the guest runs at the destination and reads back its disk. */
    static String assertLanded(TestVm vm, List<ControlEvent> events) throws Exception {
        ControlEvent last = events.get(events.size() - 1);
        assertInstanceOf(ControlEvent.Report.class, last, () -> vm.name + " failed: " + last + "\nagent a:\n" + hosts.a.logTail()
                + "\nagent b:\n" + hosts.b.logTail());
        String id = ((ControlEvent.Accepted) events.get(0)).id();
        assertTrue(vm.qemu.awaitExit(Duration.ofSeconds(30)).isPresent(), "source QEMU quit after the migration");
        assertTrue(Files.exists(hosts.imagesOf(hosts.b).resolve(vm.name + ".qcow2")), "destination image");
        long pid = QemuProcesses.pidMentioning(dir.resolve("b/state/m").resolve(id).resolve("qmp.sock").toString());
        List<String> argv = QemuProcesses.argv(pid);
        assertEquals(DestinationCommandLine.SANDBOX, argv.get(argv.indexOf("-sandbox") + 1), "destination QEMU confined: " + argv);
        assertEquals("2", QemuProcesses.status(pid, "Seccomp"), "a seccomp filter is in force in the destination QEMU");
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
            List<ControlEvent> events = migrate(vm, strategy);
            String id = assertLanded(vm, events);
            ControlEvent.Report report = (ControlEvent.Report) events.get(events.size() - 1);
            MigrationReport engine = ControlCodec.mapper().treeToValue(report.report(), MigrationReport.class);
            System.out.print(engine.summary());
            assertEquals(id, engine.migrationId());
            assertTrue(report.summary().startsWith(engine.summary()), "the JSON report carries the whole engine report");
            // agents with TLS: QEMU's own streams between the hosts are TLS too (tls.qemu-streams defaults to true)
            assertEquals("tls", report.report().path("qemuStreams").path("memory").asText(), report.summary());
            assertEquals(strategy.startsWith("mirror") ? "tls" : "none", report.report().path("qemuStreams").path("nbd").asText());
            assertTrue(report.summary().contains("QEMU streams: memory TLS"), report.summary());
            // nothing asked: memory is not held at QEMU's own 128 MiB/s
            assertTrue(report.report().path("memorySettings").path("unlimited").asBoolean(), report.summary());
            assertTrue(report.summary().contains("QEMU memory migration: max-bandwidth unlimited, downtime-limit 300 ms,"
                    + " auto-converge off"), report.summary());
            assertTrue(engine.totalMillis() >= engine.cutoverMillis() && engine.cutoverMillis() > 0, engine.summary());
            assertTrue(engine.ramBytes() > 0, engine.summary());
            assertEquals(strategy, engine.strategyName(), "named as typed");
            assertTrue(report.summary().startsWith("migration " + id + " (" + strategy + ")"), report.summary());
            assertTrue(engine.qemuDowntimeMillis() > 0, "QEMU's own downtime, once computed: " + engine.summary());
            assertTrue(engine.qemuDowntimeMillis() >= engine.storagePauseMillis(), "the storage pause is inside the downtime: "
                    + engine.summary());
            assertTrue(engine.preparingMillis() > 0 && engine.totalMillis() > engine.preparingMillis()
                    && engine.cutoverMillis() > engine.preparingMillis(), "total from the request, preparing inside: " + engine.summary());
            if (!strategy.startsWith("mirror")) {
                // the source also serves the destination QEMU's probe of sector 0 before the hand-over (not a pull)
                long extra = engine.source().servedPullBytes() - engine.destination().pulledBytes();
                assertTrue(extra >= 0 && extra <= 4096, "bytes the source served = bytes the destination pulled (+ the"
                        + " destination QEMU's probe before the hand-over): " + engine.summary());
                // (copied at the destination from its own images, if it has indexed a like VM's image by then: dedup)
                assertTrue(engine.source().pushedBytes() + engine.destination().pulledBytes() + engine.destination().dedupBytes()
                        >= 16L << 20, "at least the 16 MiB the guest wrote crossed: " + engine.summary());
            } else {
                assertTrue(engine.source().mirroredBytes() >= 16L << 20, engine.summary());
            }
            Cli.Result status = Cli.run(hosts.a.controlSocket, List.of("status", id, "--json"));
            assertEquals(0, status.exitCode(), status.stderr());
            ControlEvent.Status st = (ControlEvent.Status) status.events().get(0);
            assertEquals(MigrationPhase.COMPLETED, st.migration().phase());
            List<MigrationPhase> phases = events.stream().filter(e -> e instanceof ControlEvent.PhaseChange)
                    .map(e -> ((ControlEvent.PhaseChange) e).phase()).toList();
            for (int i = 1; i < phases.size(); i++)
                assertTrue(phases.get(i).ordinal() > phases.get(i - 1).ordinal(), "phases in order: " + phases);
            assertTrue(phases.contains(MigrationPhase.FINISHING) && phases.get(phases.size() - 1) == MigrationPhase.COMPLETED,
                    "phases: " + phases);
            assertTrue(events.stream().anyMatch(e -> e instanceof ControlEvent.Progress), "progress was reported");
        }
    }

    /**
     * Pre-copy pushed at 1 MiB/s stays in its push rounds (memory waits for convergence) long enough to
     * cancel, with {@code vmmig cancel ID} or with Ctrl-C (SIGINT) on {@code vmmig migrate}.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"vmmig cancel", "ctrl-c"})
    void cancelMidPushLeavesTheSourceAsItWas(String how) throws Exception {
        try (TestVm vm = TestVm.boot(dir, "vm-cancel-" + (how.equals("ctrl-c") ? "int" : "cmd"), 16, 500)) {
            TestVm.Snapshot before = vm.snapshot();
            CompletableFuture<String> id = new CompletableFuture<>();
            CompletableFuture<Process> cli = new CompletableFuture<>();
            CompletableFuture<Cli.Result> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(),
                            "--strategy", "precopy", "--bandwidth", "1M", "--json"), line -> {
                                if (ControlCodec.decodeEvent(line) instanceof ControlEvent.Progress p && p.progress().pushedBytes() > 0)
                                    id.complete(p.id());
                            }, cli::complete);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            String m = id.get(60, TimeUnit.SECONDS);
            if (how.equals("ctrl-c")) {
                Process kill = new ProcessBuilder("kill", "-INT", Long.toString(cli.get().pid())).inheritIO().start();
                assertEquals(0, kill.waitFor());
            } else {
                Cli.Result again = Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB()));
                assertEquals(ErrorKind.BAD_REQUEST.exitCode, again.exitCode(), again.stderr());
                assertTrue(again.stderr().contains("is already being migrated (" + m + ")"), again.stderr());
                Cli.Result cancel = Cli.run(hosts.a.controlSocket, List.of("cancel", m));
                assertEquals(0, cancel.exitCode(), cancel.stdout() + " / " + cancel.stderr());
            }
            Cli.Result migrate = run.get(90, TimeUnit.SECONDS);
            assertEquals(ErrorKind.CANCELLED.exitCode, migrate.exitCode(), migrate.stderr());
            List<ControlEvent> events = migrate.events();
            ControlEvent last = events.get(events.size() - 1);
            assertTrue(last instanceof ControlEvent.Failure f && f.kind() == ErrorKind.CANCELLED, "ends CANCELLED: " + last);
            assertTrue(vm.qemu.isAlive(), "the source QEMU still runs");
            TestVm.Snapshot after = vm.snapshot();
            assertEquals("running", after.status());
            assertEquals(before, after, "the source's block layer is as it was");
            assertFalse(after.block().hasVmmigTraces());
            assertTrue(vm.verifyAtSource().startsWith("VERIFY OK"));
            Path image = hosts.imagesOf(hosts.b).resolve(vm.name + ".qcow2");
            Poll.until("the destination removed " + image, Duration.ofSeconds(30), () -> !Files.exists(image));
            Poll.until("no destination QEMU left", Duration.ofSeconds(30),
                    () -> !QemuProcesses.anyMentions(dir.resolve("b/state/m").resolve(m).toString()));
        }
    }

    /**
     * A guest writing compressible (text-like) blocks: with zstd the chunks take less than half their bytes
     * on the wire, the guest verifies at the destination, and the destination's post-switchover hook ran once
     * with the VM's name and both hosts' addresses (arguments and VMMIG_* environment), after announce-self.
     */
    @Test
    void zstdShrinksCompressibleChunksAndThePostSwitchoverHookRuns() throws Exception {
        io.vmmig.testkit.Workload w = TestVm.workload(16, 1000).withTextPayload(true);
        try (TestVm vm = TestVm.boot(dir, "vm-text", w, io.vmmig.testkit.QemuProcess.DEFAULT_BINARY)) {
            List<ControlEvent> events = migrate(vm, "hybrid");
            String id = assertLanded(vm, events);
            ControlEvent.Report report = (ControlEvent.Report) events.get(events.size() - 1);
            MigrationReport engine = ControlCodec.mapper().treeToValue(report.report(), MigrationReport.class);
            System.out.print(report.summary());
            io.vmmig.strategy.qemu.SourceReport s = engine.source();
            assertEquals("zstd", s.compression().mode(), report.summary());
            assertTrue(s.chunkRawBytes() >= 16L << 20, "the 16 MiB written crossed as chunks: " + report.summary());
            assertTrue(s.chunkWireBytes() * 2 < s.chunkRawBytes(), "zstd: wire < raw / 2 for text-like data: " + report.summary());
            assertTrue(s.compression().compressedChunks() > 0, report.summary());
            assertTrue(report.summary().contains("compression zstd: chunks raw"), report.summary());
            // a qcow2 disk without a backing file: the guest's I/O stayed in QEMU, on the local image; QEMU read from
            // the agent only what was pulled (the copy-on-read of each pulled chunk, and a guest read of a missing one)
            io.vmmig.strategy.qemu.DestinationReport d = engine.destination();
            assertTrue(d.localDataPath(), report.summary());
            assertTrue(d.pulledBytes() > 0, "the hot set was pulled: " + report.summary());
            assertTrue(d.agentReadBytes() <= 2 * d.pulledBytes() + (1 << 20), "QEMU read " + d.agentReadBytes()
                    + " bytes from the agent for " + d.pulledBytes() + " pulled: " + report.summary());
            assertTrue(report.summary().contains("guest I/O on the local image"), report.summary());
            // the hook
            com.fasterxml.jackson.databind.JsonNode after = report.report().path("afterSwitchover");
            assertTrue(after.path("announce").asText().startsWith("ok"), report.summary());
            assertEquals("exited", after.path("hookState").asText(), report.summary());
            assertEquals(0, after.path("hookExitStatus").asInt(-1), report.summary());
            assertTrue(report.summary().contains("post-switchover " + dir.resolve("post-switchover.sh") + ": exited 0"), report.summary());
            Path out = dir.resolve("hook-" + id + ".txt");
            List<String> lines = Files.readAllLines(out);
            String vmName = lines.stream().filter(l -> l.startsWith("VMMIG_VM=")).findFirst().orElseThrow().substring(9);
            assertFalse(vmName.isEmpty(), "VMMIG_VM: " + lines);
            assertEquals("args: " + vmName + " 127.0.0.1 127.0.0.1", lines.get(0), "COMMAND VM SOURCE DEST: " + lines);
            assertTrue(lines.contains("VMMIG_MIGRATION_ID=" + id), lines.toString());
            assertTrue(lines.contains("VMMIG_SOURCE_HOST=127.0.0.1") && lines.contains("VMMIG_DESTINATION_HOST=127.0.0.1"), lines.toString());
            assertTrue(lines.contains("VMMIG_QMP_SOCKET=" + dir.resolve("b/state/m").resolve(id).resolve("qmp.sock")), lines.toString());
            assertTrue(lines.contains("VMMIG_MACS="), "the test guest has no NIC: " + lines);
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

    /**
     * The memory migration settings asked for on the command line are the ones the source QEMU migrates
     * with: {@code query-migrate-parameters} and {@code query-migrate-capabilities} on a second monitor of
     * the source while its memory moves; the report says them too, and the guest still reads back its disk.
     */
    @Test
    void memorySettingsAreAppliedOnTheSourceQemu() throws Exception {
        Path monitor = dir.resolve("vm-memory-monitor.sock");
        java.util.function.Function<io.vmmig.testkit.DiskImage, List<String>> attach = d -> {
            List<String> args = new java.util.ArrayList<>(d.qemuArgs());
            args.addAll(List.of("-qmp", "unix:" + monitor + ",server=on,wait=off"));
            return args;
        };
        try (TestVm vm = TestVm.boot(dir, "vm-memory", 16, 1000, attach); QmpClient watch = QmpClient.connect(monitor);
             QmpEventListener migration = watch.listen("memory-settings", EventFilter.named("MIGRATION"))) {
            CompletableFuture<Cli.Result> cli = CompletableFuture.supplyAsync(() -> {
                try {
                    return Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(), "--json",
                            "--memory-bandwidth", "1G", "--downtime-limit", "250", "--auto-converge"));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            // vmmig sets them before migrate: by the time memory moves they are in force
            migration.await(e -> "active".equals(e.dataText("status")), Duration.ofMinutes(2));
            QmpResults.MigrationParameters p = watch.call(new QmpCommands.QueryMigrateParameters());
            assertEquals(1L << 30, p.maxBandwidth(), "max-bandwidth: " + p);
            // the first target of the ladder (io.vmmig.strategy.qemu.DowntimeLadder), never above the user's 250 ms
            assertTrue(p.downtimeLimit() >= io.vmmig.strategy.qemu.DowntimeLadder.START_MILLIS && p.downtimeLimit() <= 250L,
                    "downtime-limit: " + p);
            assertTrue(watch.call(new QmpCommands.QueryMigrateCapabilities()).stream()
                    .anyMatch(c -> c.capability().equals("auto-converge") && c.state()), "auto-converge on");
            Cli.Result r = cli.get(3, TimeUnit.MINUTES);
            List<ControlEvent> events = r.events();
            assertEquals(0, r.exitCode(), r.stderr());
            assertLanded(vm, events);
            ControlEvent.Report report = (ControlEvent.Report) events.get(events.size() - 1);
            assertEquals(1L << 30, report.report().path("memorySettings").path("maxBandwidth").asLong(), report.summary());
            assertEquals(250, report.report().path("memorySettings").path("downtimeLimitMillis").asLong());
            long target = report.report().path("memorySettings").path("downtimeTargetMillis").asLong();
            assertTrue(target >= io.vmmig.strategy.qemu.DowntimeLadder.START_MILLIS && target <= 250, report.summary());
            assertTrue(report.report().path("memorySettings").path("autoConverge").asBoolean());
            assertTrue(report.summary().contains("QEMU memory migration: max-bandwidth 1024.0 MiB/s, downtime-limit 250 ms,"
                    + " auto-converge on"), report.summary());
        }
    }

    /**
     * {@code --bandwidth} is one budget for the disk push and QEMU's memory stream together: from the push's
     * start to the switchover, the bytes both put on the wire (the report's push wire bytes and QEMU's RAM
     * bytes) stay within the budget over that time plus one second of burst (the push's token bucket), and
     * QEMU's max-bandwidth is never above the budget. Before the LinkGovernor, each took the whole budget
     * while both ran (16 MiB pushed and the RAM moved side by side, about 1.5x the budget here).
     */
    @Test
    void oneBandwidthBudgetHoldsForDiskAndMemoryTogether() throws Exception {
        long budget = 4L << 20;   // --bandwidth 4M
        Path monitor = dir.resolve("vm-budget-monitor.sock");
        java.util.function.Function<io.vmmig.testkit.DiskImage, List<String>> attach = d -> {
            List<String> args = new java.util.ArrayList<>(d.qemuArgs());
            args.addAll(List.of("-qmp", "unix:" + monitor + ",server=on,wait=off"));
            return args;
        };
        try (TestVm vm = TestVm.boot(dir, "vm-budget", 16, 200, attach); QmpClient watch = QmpClient.connect(monitor);
             QmpEventListener migration = watch.listen("budget", EventFilter.named("MIGRATION"))) {
            CompletableFuture<Cli.Result> cli = CompletableFuture.supplyAsync(() -> {
                try {
                    return Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(), "--json",
                            "--bandwidth", "4M"));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            migration.await(e -> "active".equals(e.dataText("status")), Duration.ofMinutes(2));
            long highest = 0;
            while (!cli.isDone()) {
                try {
                    highest = Math.max(highest, watch.call(new QmpCommands.QueryMigrateParameters()).maxBandwidth());
                } catch (RuntimeException e) {
                    break;   // the source QEMU quit after the migration
                }
                try {
                    cli.get(200, TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    // still migrating: sample again
                }
            }
            Cli.Result r = cli.get(3, TimeUnit.MINUTES);
            List<ControlEvent> events = r.events();
            assertEquals(0, r.exitCode(), r.stderr());
            assertLanded(vm, events);
            ControlEvent.Report report = (ControlEvent.Report) events.get(events.size() - 1);
            MigrationReport engine = ControlCodec.mapper().treeToValue(report.report(), MigrationReport.class);
            System.out.print(engine.summary());
            assertTrue(highest > 0 && highest <= budget, "QEMU's max-bandwidth while memory moved, at most the budget: " + highest);
            java.util.function.Function<io.vmmig.strategy.qemu.MigrationEvent, Duration> at = ev -> engine.timeline().stream()
                    .filter(m -> m.event() == ev).findFirst().orElseThrow(() -> new AssertionError("no " + ev + " in " + engine.summary())).at();
            double seconds = (at.apply(io.vmmig.strategy.qemu.MigrationEvent.SWITCHED_OVER).toNanos()
                    - at.apply(io.vmmig.strategy.qemu.MigrationEvent.DISK_STARTED).toNanos()) / 1e9;
            long crossed = engine.source().pushedWireBytes() + engine.ramBytes();
            double allowed = budget * (seconds * 1.05 + 1.0);
            System.out.printf("BUDGET --bandwidth 4M: %.1f MiB pushed + %.1f MiB RAM in %.2f s = %.2f MiB/s (budget 4.00)%n",
                    engine.source().pushedWireBytes() / 1048576.0, engine.ramBytes() / 1048576.0, seconds, crossed / 1048576.0 / seconds);
            assertTrue(engine.source().pushedWireBytes() > 0, "the push ran beside memory: " + engine.summary());
            assertTrue(crossed <= allowed, String.format("push + memory before the switchover: %d bytes in %.2f s, the budget allows %.0f: %s",
                    crossed, seconds, allowed, engine.summary()));
        }
    }

    private static List<ControlEvent> run(TestVm vm) {
        try {
            return migrate(vm, "hybrid");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
