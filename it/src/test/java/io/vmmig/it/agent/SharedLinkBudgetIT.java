package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.strategy.qemu.MigrationEvent;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The source agent's {@code link-bandwidth}: two migrations started at once, neither with a {@code --bandwidth}
 * of its own, together keep within the agent's budget, disk pushes and memory streams alike, from the first
 * push to the last switchover (each report's push wire bytes and QEMU's RAM bytes, placed in time by the
 * migration's start as {@code vmmig status} reports it). Without the budget each would move its memory and
 * its push unlimited on loopback.
 */
class SharedLinkBudgetIT {
    private static final long BUDGET = 24L << 20;   // link-bandwidth = 24 MiB/s: short memory migrations (long TCG ones on 4 QEMUs corrupt guest RAM)

    @TempDir
    static Path dir;
    static AgentHosts hosts;

    @BeforeAll
    static void agents() throws Exception {
        TestPki pki = AgentHosts.pki(dir);
        hosts = AgentHosts.start(dir, pki, List.of("link-bandwidth = " + BUDGET), List.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (hosts != null) hosts.close();
    }

    /** One migration's bytes before its switchover and when they crossed (absolute). */
    record Crossing(String id, long bytes, Instant from, Instant to) {
        double mibPerSecond() {
            return bytes / 1048576.0 / (Duration.between(from, to).toNanos() / 1e9);
        }
    }

    @Test
    void twoMigrationsAtOnceKeepWithinTheAgentsLinkBudget() throws Exception {
        try (TestVm one = TestVm.boot(dir, "vm-share-1", 12, 200); TestVm two = TestVm.boot(dir, "vm-share-2", 12, 200)) {
            CompletableFuture<Cli.Result> a = CompletableFuture.supplyAsync(() -> migrate(one));
            CompletableFuture<Cli.Result> b = CompletableFuture.supplyAsync(() -> migrate(two));
            Crossing x = landed(one, a.get(5, TimeUnit.MINUTES));
            Crossing y = landed(two, b.get(5, TimeUnit.MINUTES));
            Instant from = x.from().isBefore(y.from()) ? x.from() : y.from();
            Instant to = x.to().isAfter(y.to()) ? x.to() : y.to();
            double seconds = Duration.between(from, to).toNanos() / 1e9;
            long bytes = x.bytes() + y.bytes();
            // QEMU's rate limit is exact; each push's token bucket may burst one second of its rate
            double allowed = BUDGET * (seconds * 1.05 + 2.0);
            System.out.printf("SHARED link-bandwidth 24 MiB/s: %s %.2f MiB/s, %s %.2f MiB/s; together %.1f MiB in %.2f s = %.2f MiB/s%n",
                    x.id(), x.mibPerSecond(), y.id(), y.mibPerSecond(), bytes / 1048576.0, seconds, bytes / 1048576.0 / seconds);
            assertTrue(bytes <= allowed, String.format("two migrations moved %d bytes before their switchovers in %.2f s; the"
                    + " agent's budget allows %.0f", bytes, seconds, allowed));
            // each alone at least near its equal part while they overlapped: neither was starved
            assertTrue(x.mibPerSecond() > 0.2 * BUDGET / 1048576.0 && y.mibPerSecond() > 0.2 * BUDGET / 1048576.0,
                    "both moved: " + x + ", " + y);
        }
    }

    private static Cli.Result migrate(TestVm vm) {
        try {
            return Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(), "--json"));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Crossing landed(TestVm vm, Cli.Result r) throws Exception {
        List<ControlEvent> events = r.events();
        ControlEvent last = events.get(events.size() - 1);
        assertInstanceOf(ControlEvent.Report.class, last, () -> vm.name + " failed: " + last + "; " + r.stderr() + "\nagent a:\n"
                + hosts.a.logTail());
        assertEquals(0, r.exitCode(), r.stderr());
        String id = ((ControlEvent.Accepted) events.get(0)).id();
        assertTrue(vm.qemu.awaitExit(Duration.ofSeconds(30)).isPresent(), "source QEMU quit after the migration");
        try (QmpClient dst = QmpClient.connect(dir.resolve("b/state/m").resolve(id).resolve("qmp.sock"))) {
            String verdict;
            try {
                verdict = vm.verifyAtDestination();
            } catch (RuntimeException e) {
                verdict = "no verdict: " + e.getMessage();
            }
            if (!verdict.startsWith("VERIFY OK"))
                throw new AssertionError(vm.name + " at the destination: " + verdict + "\n" + diagnosis(vm, dst, id));
            dst.call(new Quit());
        }
        MigrationReport engine = ControlCodec.mapper().treeToValue(((ControlEvent.Report) last).report(), MigrationReport.class);
        System.out.print(engine.summary());
        Cli.Result status = Cli.run(hosts.a.controlSocket, List.of("status", id, "--json"));
        assertEquals(0, status.exitCode(), status.stderr());
        Instant started = Instant.parse(((ControlEvent.Status) status.events().get(0)).migration().startedAt());
        // the timeline's marks count from the request, as startedAt does
        return new Crossing(id, engine.source().pushedWireBytes() + engine.ramBytes(),
                started.plus(mark(engine, MigrationEvent.DISK_STARTED)), started.plus(mark(engine, MigrationEvent.SWITCHED_OVER)));
    }

    /** What the destination QEMU and the guest say, and both agents' logs copied out of the test's directory. */
    private static String diagnosis(TestVm vm, QmpClient dst, String id) {
        StringBuilder b = new StringBuilder();
        try {
            int mark = vm.destinationConsole.lineCount();
            vm.destinationConsole.send("stats");
            b.append("guest: ").append(vm.destinationConsole.awaitLine(java.util.regex.Pattern.compile("^STATS"), Duration.ofSeconds(20), mark).text());
        } catch (RuntimeException e) {
            b.append("guest: no STATS: ").append(e.getMessage().lines().findFirst().orElse(""));
        }
        for (var c : List.<io.vmmig.qmp.command.QmpCommand<?>>of(new io.vmmig.qmp.command.QmpCommands.QueryNamedBlockNodes(true),
                new io.vmmig.qmp.command.QmpCommands.QueryBlockJobs(), new io.vmmig.qmp.command.QmpCommands.QueryBlock(),
                new io.vmmig.qmp.command.QmpCommands.QueryStatus())) {
            try {
                b.append("\n").append(c.commandName()).append(": ").append(dst.call(c));
            } catch (RuntimeException e) {
                b.append("\n").append(c.commandName()).append(": ").append(e);
            }
        }
        try {
            var args = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()
                    .put("path", "/machine/peripheral/vda/virtio-backend").put("queue", 0);
            var q = dst.execute("x-query-virtio-queue-status", args).get(10, TimeUnit.SECONDS);
            b.append("\nvirtio queue 0: ").append(q);
            // the rings as the guest's RAM holds them: used->idx should be QEMU's used-idx, else the guest never sees it
            for (String ring : List.of("vring-used", "vring-avail")) {
                var hmp = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()
                        .put("command-line", "xp /2hx " + q.path(ring).asLong());
                b.append("\n").append(ring).append(" in guest RAM (flags idx): ")
                        .append(dst.execute("human-monitor-command", hmp).get(10, TimeUnit.SECONDS).asText().trim());
            }
        } catch (Exception e) {
            b.append("\nvirtio queue 0: ").append(e);
        }
        try {
            Path out = Path.of("target", "shared-link-diagnosis-" + id);
            java.nio.file.Files.createDirectories(out);
            long pid = QemuProcesses.pidMentioning(dir.resolve("b/state/m").resolve(id).resolve("qmp.sock").toString());
            Process gdb = new ProcessBuilder("gdb", "-p", Long.toString(pid), "-batch", "-ex", "thread apply all bt")
                    .redirectErrorStream(true).redirectOutput(out.resolve("qemu-dst-gdb.txt").toFile()).start();
            gdb.waitFor(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            b.append("\n(gdb: ").append(e).append(")");
        }
        try {
            Path out = Path.of("target", "shared-link-diagnosis-" + id);
            java.nio.file.Files.createDirectories(out);
            java.nio.file.Files.writeString(out.resolve("agent-a.log"), hosts.a.logText());
            java.nio.file.Files.writeString(out.resolve("agent-b.log"), hosts.b.logText());
            java.nio.file.Files.writeString(out.resolve("console-dst.txt"), vm.destinationConsole.tailText(100000));
            b.append("\nagent logs and console in ").append(out.toAbsolutePath());
        } catch (java.io.IOException e) {
            b.append("\n(logs not copied: ").append(e).append(")");
        }
        return b.toString();
    }

    private static Duration mark(MigrationReport r, MigrationEvent e) {
        return r.timeline().stream().filter(m -> m.event() == e).findFirst()
                .orElseThrow(() -> new AssertionError("no " + e + " in " + r.summary())).at();
    }
}
