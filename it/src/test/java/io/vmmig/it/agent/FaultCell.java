package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.GuestLocation;
import io.vmmig.agent.control.MigrationStatus;
import io.vmmig.it.migration.Poll;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryMigrateCapabilities;
import io.vmmig.qmp.command.QmpResults.MigrationCapability;
import io.vmmig.testkit.DiskImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One cell of the fault matrix: a writing guest on host A, a migration started with the real CLI and
 * pushing slowly (pre-copy at 1 MiB/s: it stays in its push rounds long enough to hit), and the checks
 * every cell ends with: where the guest runs (VERIFY OK there) and nothing left on either host.
 */
final class FaultCell implements AutoCloseable {
    final FaultHosts hosts;
    final TestVm vm;
    final TestVm.Snapshot before;
    final CompletableFuture<Process> cli = new CompletableFuture<>();
    private final CompletableFuture<String> pushing = new CompletableFuture<>();
    private CompletableFuture<Cli.Result> run;

    private FaultCell(FaultHosts hosts, TestVm vm) {
        this.hosts = hosts;
        this.vm = vm;
        this.before = vm.snapshot();
    }

    static FaultCell boot(FaultHosts hosts, String name) throws Exception {
        Path vmDir = Files.createDirectories(hosts.dir.resolve(name));
        DiskImage disk = DiskImage.create(vmDir.resolve(name + ".qcow2"), DiskImage.Format.QCOW2, 64L << 20);
        return new FaultCell(hosts, TestVm.boot(hosts.dir, name, disk, 8, 500, hosts.qemuOnA.toString()));
    }

    /** {@code vmmig migrate} in the background; returns the migration id once disk bytes are being pushed. */
    String migrateAndAwaitPush(String... extra) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("migrate", vm.qmpSocket().toString(), hosts.destB(),
                "--strategy", "precopy", "--bandwidth", "1M", "--memory-bandwidth", "unlimited", "--json"));   // slow push, memory as fast as it goes
        args.addAll(List.of(extra));
        run = CompletableFuture.supplyAsync(() -> {
            try {
                return Cli.run(hosts.a.controlSocket, args, line -> {
                    if (ControlCodec.decodeEvent(line) instanceof ControlEvent.Progress p && p.progress().pushedBytes() > 0)
                        pushing.complete(p.id());
                }, cli::complete);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        run.whenComplete((r, e) -> pushing.completeExceptionally(new IllegalStateException("the CLI ended before a push: "
                + (r == null ? e : r.stdout() + " / " + r.stderr()))));
        return pushing.get(3, TimeUnit.MINUTES);
    }

    /** The CLI's end: its last event, checked against its exit code. */
    ControlEvent cliEnd() throws Exception {
        Cli.Result r = run.get(3, TimeUnit.MINUTES);
        List<ControlEvent> events = r.events();
        assertFalse(events.isEmpty(), "no events; stderr: " + r.stderr());
        ControlEvent last = events.get(events.size() - 1);
        if (last instanceof ControlEvent.Failure f) assertEquals(f.kind().exitCode, r.exitCode(), r.stderr());
        return last;
    }

    Cli.Result cliResult() throws Exception {
        return run.get(3, TimeUnit.MINUTES);
    }

    /** {@code vmmig status ID --json} on an agent. */
    static MigrationStatus status(AgentProcess agent, String id) throws Exception {
        Cli.Result r = Cli.run(agent.controlSocket, List.of("status", id, "--json"));
        assertEquals(0, r.exitCode(), r.stderr());
        return ((ControlEvent.Status) r.events().get(0)).migration();
    }

    /**
     * Waits (watching the migration's events over the agent's control socket, up to {@code within}) for
     * its terminal event, then returns its status: for an agent that settles a migration in the background.
     */
    static MigrationStatus settled(AgentProcess agent, String id, Duration within) throws Exception {
        java.time.Instant deadline = java.time.Instant.now().plus(within);
        try (io.vmmig.agent.cli.ControlClient c = io.vmmig.agent.cli.ControlClient.connect(agent.controlSocket)) {
            c.send(io.vmmig.agent.control.ControlRequest.watch(id));
            while (true) {
                io.vmmig.agent.cli.ReceivedEvent e = c.next(deadline);
                if (e != null && (e.event() instanceof ControlEvent.Report || e.event() instanceof ControlEvent.Failure)) break;
            }
        }
        return status(agent, id);
    }

    /** The failure says, from QEMU, that the guest runs at the source. */
    static void saysRunningAtSource(GuestLocation g, String context) {
        assertNotNull(g, "no guest location: " + context);
        assertEquals(GuestLocation.Host.SOURCE, g.host(), context);
        assertEquals(GuestLocation.State.RUNNING, g.state(), context);
    }

    /** The source QEMU runs the guest as before the migration: no trace of vmmig, capabilities restored, VERIFY OK. */
    void sourceUntouched() {
        assertTrue(vm.qemu.isAlive(), "the source QEMU runs");
        TestVm.Snapshot after = vm.snapshot();
        assertEquals("running", after.status());
        assertEquals(before, after, "the source's block layer is as it was");
        assertFalse(after.block().hasVmmigTraces(), after.toString());
        try (QmpClient q = QmpClient.connect(vm.qmpSocket())) {
            for (MigrationCapability c : q.call(new QueryMigrateCapabilities()))
                if (c.capability().equals("pause-before-switchover")) assertFalse(c.state(), "pause-before-switchover left on");
        }
        String verdict = vm.verifyAtSource();
        assertTrue(verdict.startsWith("VERIFY OK"), "at the source: " + verdict);
    }

    /** Nothing of migration {@code id} at the destination (image, directory, QEMU) nor in the source's state dir. */
    void nothingLeft(String id, Duration within) {
        Path image = hosts.dir.resolve("b/images").resolve(vm.name + ".qcow2");
        Path imageDir = imageDir();
        Path dstImage = imageDir == null ? image : imageDir.resolve(vm.name + ".qcow2");
        Poll.until("the destination removed " + dstImage, within, () -> !Files.exists(dstImage));
        Path dstDir = hosts.stateB().resolve("m").resolve(id);
        Poll.until("the destination removed " + dstDir, within, () -> !Files.exists(dstDir));
        Poll.until("no destination QEMU of " + id, within, () -> !QemuProcesses.anyMentions(dstDir.toString()));
        Path srcDir = hosts.stateA().resolve("m").resolve(id);
        Poll.until("the source removed " + srcDir, within, () -> !Files.exists(srcDir));
    }

    private Path imageDir;

    Path imageDir() {
        return imageDir;
    }

    void imageDir(Path p) {
        imageDir = p;
    }

    @Override
    public void close() {
        vm.close();
    }
}
