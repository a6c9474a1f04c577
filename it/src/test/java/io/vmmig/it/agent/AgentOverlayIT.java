package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.it.migration.QemuImg;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Between two real agents, with the real CLI: a guest on a qcow2 overlay whose base exists at the same
 * path at the destination (as the README asks) migrates its top layer only, ends as an overlay over
 * the same base at the destination, verifies there, and the base's bytes read through the
 * destination's chain are intact.
 */
class AgentOverlayIT {
    private static final long BASE_DATA_OFFSET = 32L << 20;
    private static final long BASE_DATA = 24L << 20;   // only in the base: must never cross

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hybrid", "mirror"})
    void aQcow2OverlayOverABaseAtBothEndsMovesItsTopLayerOnly(String strategy) throws Exception {
        dir = java.nio.file.Files.createDirectories(dir.resolve(strategy));
        TestPki pki = AgentHosts.pki(dir);
        DiskImage base = DiskImage.create(Files.createDirectories(dir.resolve("shared")).resolve("base.qcow2"),
                DiskImage.Format.QCOW2, 64L << 20);
        QemuImg.fill(base, 0x5a, BASE_DATA_OFFSET, BASE_DATA);
        Path vmDir = Files.createDirectories(dir.resolve("vm-overlay"));
        DiskImage overlay = QemuImg.overlay(vmDir.resolve("vm-overlay.qcow2"), base);
        try (AgentHosts hosts = AgentHosts.start(dir, pki, List.of(),
                     List.of("allowed.backing-dirs = " + base.path().getParent()));
             TestVm vm = TestVm.boot(dir, "vm-overlay", overlay, 8, 500)) {
            Cli.Result r = Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(),
                    "--strategy", strategy, "--json"));
            List<ControlEvent> events = r.events();
            ControlEvent last = events.get(events.size() - 1);
            assertInstanceOf(ControlEvent.Report.class, last, () -> "failed: " + last + "\nagent a:\n" + hosts.a.logTail()
                    + "\nagent b:\n" + hosts.b.logTail());
            assertEquals(0, r.exitCode(), r.stderr());
            MigrationReport report = ControlCodec.mapper().treeToValue(((ControlEvent.Report) last).report(), MigrationReport.class);
            System.out.print(report.summary());
            String id = report.migrationId();
            assertTrue(report.diskBytesMoved() >= 8L << 20, "the guest's 8 MiB moved: " + report.summary());
            if (!strategy.startsWith("mirror")) // QEMU's mirror job counts its progress, not the bytes it wrote: checked below
                assertTrue(report.diskBytesMoved() < (8L + 24) << 20, "only the top layer (and hot rewrites) moved, not the base's 24 MiB: "
                        + report.summary());
            assertTrue(vm.qemu.awaitExit(Duration.ofSeconds(30)).isPresent(), "source QEMU quit after the migration");

            Path dstImage = hosts.imagesOf(hosts.b).resolve("vm-overlay.qcow2");
            try (QmpClient dst = QmpClient.connect(dir.resolve("b/state/m").resolve(id).resolve("qmp.sock"))) {
                assertEquals("running", dst.call(new QueryStatus()).status());
                String verdict = vm.verifyAtDestination();
                assertTrue(verdict.startsWith("VERIFY OK"), "at the destination: " + verdict);
                dst.call(new Quit());
            }
            JsonNode info = new ObjectMapper().readTree(QemuImg.run(List.of("qemu-img", "info", "--output=json", "-U",
                    dstImage.toString())));
            assertEquals(base.path().toString(), info.path("backing-filename").asText(), "still an overlay over the same base: " + info);
            // the base's bytes through the destination's chain (qemu-io exits non-zero on a mismatch)
            QemuImg.run(List.of("qemu-io", "-r", "-U", "-f", "qcow2", "-c",
                    "read -q -P 0x5a " + BASE_DATA_OFFSET + " " + BASE_DATA, dstImage.toString()));
            long top = 0;
            for (JsonNode e : new ObjectMapper().readTree(QemuImg.run(List.of("qemu-img", "map", "-U", "--output=json",
                    dstImage.toString())))) {
                if (e.path("depth").asInt() == 0 && e.path("data").asBoolean()) top += e.path("length").asLong();
            }
            assertTrue(top >= 8L << 20 && top < 12L << 20, "the destination's own layer holds the guest's data only: " + top);
        }
    }
}
