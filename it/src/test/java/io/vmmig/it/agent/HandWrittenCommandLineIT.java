package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import java.nio.file.Files;
import io.vmmig.testkit.Workload;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disks attached the ways hand-written and older command lines (and libvirt) do, through the real
 * agents and CLI: a JSON {@code -device}, a legacy {@code -drive file=...,if=virtio}; and VMs with two
 * disks (qcow2 + raw) attached either way, moved together in one hybrid migration.
 */
class HandWrittenCommandLineIT {
    @TempDir
    static Path dir;
    static AgentHosts hosts;

    @BeforeAll
    static void agents() throws Exception {
        TestPki pki = AgentHosts.pki(dir);
        hosts = AgentHosts.start(dir, pki, List.of(), List.of());
    }

    @AfterAll
    static void stop() {
        if (hosts != null) hosts.close();
    }

    private static String json(Path p) {
        return p.toAbsolutePath().toString().replace("\\", "\\\\").replace("\"", "\\\"");
    }

    static final Function<DiskImage, List<String>> JSON_DEVICE = d -> List.of(
            "-blockdev", "{\"driver\":\"file\",\"filename\":\"" + json(d.path()) + "\",\"node-name\":\"libvirt-1-storage\"}",
            "-blockdev", "{\"node-name\":\"libvirt-1-format\",\"driver\":\"qcow2\",\"file\":\"libvirt-1-storage\"}",
            "-device", "{\"driver\":\"virtio-blk-pci\",\"drive\":\"libvirt-1-format\",\"id\":\"virtio-disk0\",\"bootindex\":1}");

    static final Function<DiskImage, List<String>> LEGACY_DRIVE = d -> List.of(
            "-drive", "file=" + d.path().toAbsolutePath().toString().replace(",", ",,") + ",if=virtio,format=qcow2");

    /** Migrates {@code vm} by {@code strategy}; asserts it landed and verifies at the destination. */
    static void migratesAndVerifies(TestVm vm, String strategy) throws Exception {
        Cli.Result r = Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(), "--strategy", strategy, "--json"));
        List<ControlEvent> events = r.events();
        ControlEvent last = events.get(events.size() - 1);
        assertInstanceOf(ControlEvent.Report.class, last, () -> "failed: " + last + "\nagent a:\n" + hosts.a.logTail()
                + "\nagent b:\n" + hosts.b.logTail());
        assertEquals(0, r.exitCode(), r.stderr());
        String id = ((ControlEvent.Accepted) events.get(0)).id();
        assertTrue(vm.qemu.awaitExit(Duration.ofSeconds(30)).isPresent(), "source QEMU quit after the migration");
        try (QmpClient dst = QmpClient.connect(dir.resolve("b/state/m").resolve(id).resolve("qmp.sock"))) {
            assertEquals("running", dst.call(new QueryStatus()).status());
            String verdict = vm.verifyAtDestination();
            assertTrue(verdict.startsWith("VERIFY OK"), vm.name + " at the destination: " + verdict);
            dst.call(new Quit());
        }
    }

    @Test
    void aJsonDeviceDiskMigratesByHybrid() throws Exception {
        try (TestVm vm = TestVm.boot(dir, "vm-json", 16, 1000, JSON_DEVICE)) {
            migratesAndVerifies(vm, "hybrid");
        }
    }

    @Test
    void aLegacyDriveIfVirtioDiskMigratesByHybrid() throws Exception {
        try (TestVm vm = TestVm.boot(dir, "vm-drive", 16, 1000, LEGACY_DRIVE)) {
            migratesAndVerifies(vm, "hybrid");
        }
    }

    /** A second disk beside the test guest's qcow2: raw, 64 MiB (same size, so the workload's area fits both). */
    private static DiskImage secondDisk(String vm) {
        return DiskImage.create(dir.resolve(vm + "-data.raw"), DiskImage.Format.RAW, 64L << 20);
    }

    /** Two -blockdev disks (qcow2 + raw) with JSON -device lines, as libvirt 9 writes them. */
    static Function<DiskImage, List<String>> twoJsonDevices(DiskImage data) {
        return d -> {
            List<String> args = new ArrayList<>(JSON_DEVICE.apply(d));
            args.addAll(List.of(
                    "-blockdev", "{\"driver\":\"file\",\"filename\":\"" + json(data.path()) + "\",\"node-name\":\"libvirt-2-storage\"}",
                    "-blockdev", "{\"node-name\":\"libvirt-2-format\",\"driver\":\"raw\",\"file\":\"libvirt-2-storage\"}",
                    "-device", "{\"driver\":\"virtio-blk-pci\",\"drive\":\"libvirt-2-format\",\"id\":\"virtio-disk1\"}"));
            return args;
        };
    }

    /** Two legacy {@code -drive file=...,if=virtio} disks (qcow2 + raw). */
    static Function<DiskImage, List<String>> twoLegacyDrives(DiskImage data) {
        return d -> {
            List<String> args = new ArrayList<>(LEGACY_DRIVE.apply(d));
            args.addAll(List.of("-drive", "file=" + data.path().toAbsolutePath().toString().replace(",", ",,") + ",if=virtio,format=raw"));
            return args;
        };
    }

    /**
     * A VM with two disks, both written by the guest (hot writes alternate them), moves by hybrid in one
     * migration: one push, one hand-over, one pull; the report shows each disk; at the destination, with
     * the source QEMU gone, the guest reads back both disks.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"json-device", "legacy-drive"})
    void twoDisksMoveInOneHybridMigration(String how) throws Exception {
        // -Dvmmig.it.two-disks-strategy=precopy|postcopy runs the same cells by another chunk-transfer strategy (by hand)
        String strategy = System.getProperty("vmmig.it.two-disks-strategy", "hybrid");
        String name = "vm-two-" + how;
        DiskImage data = secondDisk(name);
        Workload w = TestVm.workload(8, 1000).withSecondDisk("/dev/vdb");
        try (TestVm vm = TestVm.boot(dir, name, w, how.equals("json-device") ? twoJsonDevices(data) : twoLegacyDrives(data))) {
            Cli.Result r = Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(),
                    "--strategy", strategy, "--json"));
            List<ControlEvent> events = r.events();
            ControlEvent last = events.get(events.size() - 1);
            assertInstanceOf(ControlEvent.Report.class, last, () -> "failed: " + last + "\nagent a:\n" + hosts.a.logTail()
                    + "\nagent b:\n" + hosts.b.logTail());
            assertEquals(0, r.exitCode(), r.stderr());
            String id = ((ControlEvent.Accepted) events.get(0)).id();
            ControlEvent.Report report = (ControlEvent.Report) last;
            System.out.println(report.summary());
            assertTrue(vm.qemu.awaitExit(Duration.ofSeconds(30)).isPresent(), "source QEMU quit after the migration");
            assertTrue(Files.exists(hosts.imagesOf(hosts.b).resolve(name + ".qcow2")), "destination qcow2 image");
            assertTrue(Files.exists(hosts.imagesOf(hosts.b).resolve(name + "-data.raw")), "destination raw image");
            try (QmpClient dst = QmpClient.connect(dir.resolve("b/state/m").resolve(id).resolve("qmp.sock"))) {
                assertEquals("running", dst.call(new QueryStatus()).status());
                for (var b : dst.call(new io.vmmig.qmp.command.QmpCommands.QueryBlock())) {
                    String file = b.inserted().image().filename();
                    assertTrue(file.contains(hosts.imagesOf(hosts.b).toString()) && !file.contains("nbd"), "disk " + b.device() + b.qdev()
                            + " on its local image after the pivot, not the agent's NBD: " + file);
                }
                List<String> verdict = vm.verifyDisksAtDestination();
                assertEquals(3, verdict.size(), "one line per disk and the verdict: " + verdict);
                assertTrue(verdict.get(0).startsWith("VERIFY DISK /dev/vda OK 2048 failures=0"), verdict.toString());
                assertTrue(verdict.get(1).startsWith("VERIFY DISK /dev/vdb OK 2048 failures=0"), verdict.toString());
                assertTrue(verdict.get(2).startsWith("VERIFY OK 4096 "), verdict.toString());
                dst.call(new Quit());
            }
            String summary = report.summary();
            assertTrue(events.stream().anyMatch(e -> e instanceof ControlEvent.Progress p && p.progress().disks().size() == 2
                    && p.progress().disks().get(1).pushedBytes() + p.progress().disks().get(1).pulledBytes()
                    + p.progress().disks().get(1).remainingBytes() > 0), "progress events show each disk");
            assertEquals(2, summary.lines().filter(l -> l.startsWith("  disk ") && l.contains("handed over")).count(),
                    "each disk apart: " + summary);
            // named as the guest's devices: the device id (JSON -device), the drive id (-drive)
            List<String> names = how.equals("json-device") ? List.of("virtio-disk0", "virtio-disk1") : List.of("virtio0", "virtio1");
            assertTrue(summary.contains("  disk " + names.get(0) + " (64.0 MiB): pushed ") && summary.contains("  disk " + names.get(1) + " ("),
                    summary);
        }
    }
}
