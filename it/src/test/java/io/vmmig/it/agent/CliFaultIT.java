package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vmmig.agent.control.GuestLocation;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationStatus;
import io.vmmig.it.migration.Poll;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.testkit.net.NetworkLab;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vmmig migrate} SIGKILLed during the push: the migration goes on in the agents, and
 * {@code vmmig status} says where the guest runs all along (from QEMU's run state), up to the end at
 * the destination, where the guest verifies; nothing is left at the source.
 */
class CliFaultIT {
    @TempDir
    Path dir;

    @BeforeAll
    static void lab() {
        assumeTrue(NetworkLab.unavailableReason().isEmpty(), () -> NetworkLab.unavailableReason().orElse(""));
    }

    @Test
    void cliKilledDuringThePushTheMigrationGoesOnAndStatusSaysWhereTheGuestIs() throws Exception {
        try (FaultHosts hosts = FaultHosts.start(dir, List.of()); FaultCell cell = FaultCell.boot(hosts, "vm-cli")) {
            String id = cell.migrateAndAwaitPush();
            Process cli = cell.cli.get();
            cli.destroyForcibly();   // SIGKILL: no Ctrl-C handling, no cancel
            assertTrue(cli.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "the CLI is gone");
            MigrationStatus during = FaultCell.status(hosts.a, id);
            System.out.println("CLI SIGKILL during the push, status right after: " + during.phase() + ", " + during.guest());
            assertTrue(!during.phase().terminal(), "the migration goes on: " + during);
            FaultCell.saysRunningAtSource(during.guest(), during.toString());
            AtomicReference<MigrationStatus> last = new AtomicReference<>();
            Poll.until("migration " + id + " completes without its CLI", Duration.ofMinutes(3), () -> {
                try {
                    last.set(FaultCell.status(hosts.a, id));
                    return last.get().phase().terminal();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            MigrationStatus end = last.get();
            System.out.println("then: " + end.phase() + ", " + end.guest());
            assertEquals(MigrationPhase.COMPLETED, end.phase(), end + hosts.logs());
            assertEquals(GuestLocation.Host.DESTINATION, end.guest().host(), end.toString());
            assertEquals(GuestLocation.State.RUNNING, end.guest().state(), end.toString());
            assertTrue(cell.vm.qemu.awaitExit(Duration.ofSeconds(30)).isPresent(), "the source QEMU quit");
            try (QmpClient dst = QmpClient.connect(hosts.stateB().resolve("m").resolve(id).resolve("qmp.sock"))) {
                assertEquals("running", dst.call(new QueryStatus()).status());
                String verdict = cell.vm.verifyAtDestination();
                String diagnosis = cell.vm.diskDiagnosis(verdict, hosts.dir.resolve("b/images").resolve(cell.vm.name + ".qcow2"));
                assertTrue(verdict.startsWith("VERIFY OK"), () -> "at the destination: " + verdict + "\n" + diagnosis);
                dst.call(new Quit());
            }
            Path srcDir = hosts.stateA().resolve("m").resolve(id);
            assertTrue(!Files.exists(srcDir), "nothing left at the source: " + srcDir);
        }
    }
}
