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
import org.junit.jupiter.api.io.TempDir;

/**
 * Disks attached the ways hand-written and older command lines (and libvirt) do, through the real
 * agents and CLI: a JSON {@code -device}, a legacy {@code -drive file=...,if=virtio}; and a VM with two
 * disks refused naming both (the engine moves one disk per VM).
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

    @Test
    void aSecondDiskIsRefusedNamingBoth() throws Exception {
        Path second = dir.resolve("vm-two-data.raw");
        DiskImage data = DiskImage.create(second, DiskImage.Format.RAW, 8L << 20);
        try (TestVm vm = TestVm.boot(dir, "vm-two", 4, 100, d -> {
            List<String> args = new ArrayList<>(d.qemuArgs());
            args.addAll(data.qemuArgs("data0", "vdb"));
            return args;
        })) {
            Cli.Result r = Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(), "--json"));
            ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, r.events().get(r.events().size() - 1));
            assertEquals(ErrorKind.ENVIRONMENT, f.kind(), f.message());
            assertEquals(ErrorKind.ENVIRONMENT.exitCode, r.exitCode());
            assertTrue(f.message().contains("disk0") && f.message().contains("data0"), f.message());
            assertTrue(vm.qemu.isAlive(), "the VM keeps running at the source");
            assertTrue(vm.verifyAtSource().startsWith("VERIFY OK"));
        }
    }
}
