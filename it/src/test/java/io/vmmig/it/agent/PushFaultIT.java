package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationStatus;
import io.vmmig.it.migration.Poll;
import io.vmmig.testkit.net.NetworkLab;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault matrix before the switchover, at process level: real agents in two network namespaces
 * (mutual TLS), real QEMUs, the real CLI, the writing test guest; pre-copy pushing at 1 MiB/s so the
 * fault lands during the push. Each cell ends with the guest's VERIFY OK at the source, untouched
 * (block layer as before, no bitmap, export, job or capability of vmmig), and nothing of the migration
 * left at the destination (image, directory, QEMU) nor in the source's state directory.
 */
class PushFaultIT {
    private static final Duration SETTLE = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    @BeforeAll
    static void lab() {
        assumeTrue(NetworkLab.unavailableReason().isEmpty(), () -> NetworkLab.unavailableReason().orElse(""));
    }

    @Test
    void destinationAgentKilledDuringThePush() throws Exception {
        try (FaultHosts hosts = FaultHosts.start(dir, List.of()); FaultCell cell = FaultCell.boot(hosts, "vm-dst-agent")) {
            String id = cell.migrateAndAwaitPush();
            hosts.b.kill();
            ControlEvent end = cell.cliEnd();
            ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, end, hosts.logs());
            System.out.println("destination agent SIGKILL during the push: " + f.kind() + ": " + f.message());
            FaultCell.saysRunningAtSource(f.guest(), f.message());
            cell.sourceUntouched();
            hosts.restartB();   // the restarted agent finds the migration in its journal and removes what it left
            cell.nothingLeft(id, SETTLE);
            MigrationStatus atB = FaultCell.settled(hosts.b, id, SETTLE);   // settled in the background, the agent serving meanwhile
            assertEquals(MigrationPhase.CANCELLED, atB.phase(), atB.toString());
            assertTrue(atB.error().contains("agent restart"), atB.error());
        }
    }

    @Test
    void linkCutDuringThePush() throws Exception {
        try (FaultHosts hosts = FaultHosts.start(dir, List.of()); FaultCell cell = FaultCell.boot(hosts, "vm-link")) {
            String id = cell.migrateAndAwaitPush();
            hosts.link(false);
            try {
                ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, cell.cliEnd(), hosts.logs());
                System.out.println("link cut during the push: " + f.kind() + ": " + f.message());
                FaultCell.saysRunningAtSource(f.guest(), f.message());
                cell.sourceUntouched();
                cell.nothingLeft(id, SETTLE);   // the destination gives up on its own, link still down
            } finally {
                hosts.link(true);
            }
            MigrationStatus atB = FaultCell.status(hosts.b, id);
            assertTrue(atB.phase().terminal() && !atB.phase().switchedOver(), atB.toString());
        }
    }

    @Test
    void destinationQemuKilledBeforeTheSwitchover() throws Exception {
        try (FaultHosts hosts = FaultHosts.start(dir, List.of()); FaultCell cell = FaultCell.boot(hosts, "vm-dst-qemu")) {
            String id = cell.migrateAndAwaitPush();
            String mark = hosts.stateB().resolve("m").resolve(id).toString();
            Poll.until("the destination QEMU of " + id + " runs", Duration.ofMinutes(2), () -> QemuProcesses.anyMentions(mark));
            QemuProcesses.killMentioning(mark);
            ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, cell.cliEnd(), hosts.logs());
            System.out.println("destination QEMU SIGKILL before the switchover: " + f.kind() + ": " + f.message());
            FaultCell.saysRunningAtSource(f.guest(), f.message());
            cell.sourceUntouched();
            cell.nothingLeft(id, SETTLE);
        }
    }

    @Test
    void destinationDiskFillsDuringThePush() throws Exception {
        Path images = Files.createDirectories(dir.resolve("b-images"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=40m", "vmmig-fault", images.toString())
                .inheritIO().start();
        assertEquals(0, mount.waitFor(), "mount a small tmpfs");
        try (FaultHosts hosts = FaultHosts.start(dir, List.of("image-dirs = " + images));
             FaultCell cell = FaultCell.boot(hosts, "vm-full")) {
            cell.imageDir(images);
            String id = cell.migrateAndAwaitPush();
            // fill the destination's filesystem, leaving less than the rest of the push needs
            long free = Files.getFileStore(images).getUsableSpace();
            Process fill = new ProcessBuilder("fallocate", "-l", Long.toString(free - (256 << 10)), images.resolve("filler").toString())
                    .inheritIO().start();
            assertEquals(0, fill.waitFor());
            ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, cell.cliEnd(), hosts.logs());
            System.out.println("destination disk fills during the push: " + f.kind() + ": " + f.message());
            assertEquals(ErrorKind.NO_SPACE, f.kind(), f.message() + hosts.logs());
            assertTrue(f.message().contains("full"), f.message());
            FaultCell.saysRunningAtSource(f.guest(), f.message());
            cell.sourceUntouched();
            cell.nothingLeft(id, SETTLE);
        } finally {
            new ProcessBuilder("umount", "-l", images.toString()).inheritIO().start().waitFor();
        }
    }

    @Test
    void sourceAgentKilledDuringThePush() throws Exception {
        try (FaultHosts hosts = FaultHosts.start(dir, List.of()); FaultCell cell = FaultCell.boot(hosts, "vm-src-agent")) {
            String id = cell.migrateAndAwaitPush();
            hosts.a.kill();
            cell.cliResult();   // the CLI loses its agent
            assertTrue(cell.vm.qemu.isAlive(), "the source QEMU runs on without its agent");
            TestVm.Snapshot orphaned = cell.vm.snapshot();
            assertEquals("running", orphaned.status());
            assertTrue(orphaned.block().hasVmmigTraces(), "the killed agent left its bitmaps/exports: " + orphaned);
            hosts.restartA();   // takes the migration from its journal and removes vmmig from the VM
            MigrationStatus atA = FaultCell.status(hosts.a, id);
            System.out.println("source agent SIGKILL during the push, after the restart: " + atA.phase() + ": " + atA.error());
            assertEquals(MigrationPhase.CANCELLED, atA.phase(), atA.toString());
            FaultCell.saysRunningAtSource(atA.guest(), atA.toString());
            cell.sourceUntouched();
            cell.nothingLeft(id, SETTLE);
        }
    }
}
