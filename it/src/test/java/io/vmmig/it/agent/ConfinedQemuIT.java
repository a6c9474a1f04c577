package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.vm.DestinationCommandLine;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The destination QEMU confined: with {@code qemu.runas = nobody} a hybrid migration of the writing test
 * guest lands in a QEMU that runs as uid 65534 under a seccomp filter (read from /proc, not from the
 * command line alone), and the guest verifies its disk there.
 */
class ConfinedQemuIT {
    @TempDir
    static Path dir;
    static AgentHosts hosts;

    @BeforeAll
    static void agents() throws Exception {
        // the unprivileged QEMU must reach its migration directory and image (a JUnit temp dir is 0700)
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        TestPki pki = AgentHosts.pki(dir);
        hosts = AgentHosts.start(dir, pki, List.of(), List.of("qemu.runas = nobody"));
    }

    @AfterAll
    static void stop() {
        if (hosts != null) hosts.close();
    }

    @Test
    void hybridMigrationLandsInAnUnprivilegedSandboxedQemu() throws Exception {
        try (TestVm vm = TestVm.boot(dir, "vm-confined", 16, 1000)) {
            Cli.Result r = Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(),
                    "--strategy", "hybrid", "--json"));
            List<ControlEvent> events = r.events();
            ControlEvent last = events.get(events.size() - 1);
            assertInstanceOf(ControlEvent.Report.class, last, () -> "failed: " + last + "\nagent a:\n" + hosts.a.logTail()
                    + "\nagent b:\n" + hosts.b.logTail());
            assertEquals(0, r.exitCode(), r.stderr());
            String id = ((ControlEvent.Accepted) events.get(0)).id();
            Path qmp = dir.resolve("b/state/m").resolve(id).resolve("qmp.sock");
            long pid = QemuProcesses.pidMentioning(qmp.toString());
            List<String> argv = QemuProcesses.argv(pid);
            assertEquals(DestinationCommandLine.SANDBOX_RUNAS, argv.get(argv.indexOf("-sandbox") + 1), argv.toString());
            assertEquals("nobody", argv.get(argv.indexOf("-runas") + 1), argv.toString());
            assertEquals("2", QemuProcesses.status(pid, "Seccomp"), "a seccomp filter is in force");
            assertTrue(QemuProcesses.status(pid, "Uid").matches("65534\\s+65534\\s+65534\\s+65534"),
                    "QEMU runs as nobody: Uid " + QemuProcesses.status(pid, "Uid"));
            assertTrue(vm.qemu.awaitExit(Duration.ofSeconds(30)).isPresent(), "source QEMU quit after the migration");
            try (QmpClient dst = QmpClient.connect(qmp)) {
                assertEquals("running", dst.call(new QueryStatus()).status());
                String verdict = vm.verifyAtDestination();
                assertTrue(verdict.startsWith("VERIFY OK"), "at the destination: " + verdict);
                dst.call(new Quit());
            }
        }
    }
}
