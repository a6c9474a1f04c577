package io.vmmig.it.migration;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vmmig.qmp.QmpClient;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.SourceMigration;
import io.vmmig.strategy.source.SourceOptions;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.Workload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator cancels a hybrid migration in the middle of the push, with memory migration under
 * way (both slowed down so the cancel lands there): the run throws the cancellation, the guest
 * keeps running and writing at the source with its data intact, the source QEMU holds no bitmap,
 * export, node, job or NBD server of vmmig's any more, and the destination QEMU is gone.
 */
class CancelBeforeCutoverIT {
    private static final int CHUNK = 256 * 1024;
    private static final long BLOCKS = 8192;            // 32 MiB area
    private static final long PUSH_RATE = 4L << 20;     // 32 MiB take ~8 s
    private static final long RAM_RATE = 4L << 20;      // ~80 MiB of RAM take ~20 s

    @TempDir Path dir;

    @Test
    void cancelMidPushLeavesTheSourceRunningAndClean() throws Exception {
        Workload w = Workload.defaults().withBlocks(BLOCKS).withHotSet(0, 256).withRate(1000);
        try (TwoHosts hosts = TwoHosts.start(dir, w, 64L << 20)) {
            QmpClient qmp = hosts.sourceQmp();
            QemuBlockState before = QemuBlockState.of(qmp);
            var capabilitiesBefore = qmp.call(new io.vmmig.qmp.command.QmpCommands.QueryMigrateCapabilities());
            assertFalse(before.hasVmmigTraces(), "clean before: " + before);

            SourceOptions push = TwoHosts.defaultPush().withPushBytesPerSecond(PUSH_RATE);
            CompletableFuture<MigrationReport> migration = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    migration.complete(hosts.migrate(Strategy.HYBRID, CHUNK, push, ChunkTransferSource.PrecopyLimits.defaults(),
                            () -> QmpClient.join(qmp.execute("migrate-set-parameters",
                                    JsonNodeFactory.instance.objectNode().put("max-bandwidth", RAM_RATE)))));
                } catch (Throwable e) {
                    migration.completeExceptionally(e);
                }
            }, "migration");
            t.setDaemon(true);
            t.start();

            QemuProcess dst = hosts.destinationStarted().get(60, TimeUnit.SECONDS);
            Poll.until("the push to be under way and memory migration active", Duration.ofSeconds(60),
                    () -> hosts.chunkSource() != null && hosts.chunkSource().transfer() != null
                            && hosts.chunkSource().counters().pushedBytes.get() >= 2L << 20
                            && "active".equals(migrationStatus(qmp)));
            QemuBlockState during = QemuBlockState.of(qmp);
            assertTrue(during.hasVmmigTraces(), "vmmig's bitmaps and export exist during the push: " + during);
            long pushedAtCancel = hosts.chunkSource().counters().pushedBytes.get();
            assertTrue(pushedAtCancel < BLOCKS * 4096, "the cancel lands mid-push: pushed " + pushedAtCancel);
            int mark = hosts.source().console().lineCount();

            hosts.cancel("operator changed their mind");

            ExecutionException e = assertThrows(ExecutionException.class, () -> migration.get(60, TimeUnit.SECONDS));
            System.out.println("cancelled hybrid migration: source " + hosts.chunkSource().report()
                    + "\n  vmmig in the source QEMU during the push: " + during);
            assertInstanceOf(SourceMigration.CancelledException.class, e.getCause(), "the run throws the cancellation");
            assertTrue(e.getCause().getMessage().contains("operator changed their mind"), e.getCause().getMessage());

            // The guest keeps running at the source and keeps writing.
            Poll.until("the memory migration to be cancelled", Duration.ofSeconds(30),
                    () -> "cancelled".equals(migrationStatus(qmp)));
            assertEquals("running", DestinationChecks.status(qmp), "source guest state after the cancel");
            hosts.source().console().awaitLine(Pattern.compile("^TPUT \\d+ \\d+"), Duration.ofSeconds(10), mark);
            hosts.source().console().awaitLine(Pattern.compile("^HB \\d+ \\d+"), Duration.ofSeconds(10), mark);

            // Nothing of vmmig's left in the source QEMU: the same nodes, bitmaps, exports and jobs as before.
            QemuBlockState after = QemuBlockState.of(qmp);
            assertEquals(before, after, "source block layer after the cancel");
            assertEquals(capabilitiesBefore, qmp.call(new io.vmmig.qmp.command.QmpCommands.QueryMigrateCapabilities()),
                    "migration capabilities restored (pause-before-switchover off again)");
            // ... and its NBD server was stopped (a second one could not start otherwise).
            assertNbdServerStopped(qmp, dir.resolve("probe-nbd.sock"));

            // The destination QEMU is gone.
            assertTrue(dst.awaitExit(Duration.ofSeconds(10)).isPresent(), "destination QEMU still running after the cancel");

            DestinationChecks.assertVerifyOk(hosts.verify(hosts.source()), BLOCKS);
        }
    }

    private static String migrationStatus(QmpClient qmp) {
        JsonNode m = QmpClient.join(qmp.execute("query-migrate", JsonNodeFactory.instance.objectNode()));
        return m.path("status").asText("none");
    }

    private static void assertNbdServerStopped(QmpClient qmp, Path socket) {
        var addr = JsonNodeFactory.instance.objectNode();
        addr.putObject("addr").put("type", "unix").putObject("data").put("path", socket.toString());
        QmpClient.join(qmp.execute("nbd-server-start", addr));
        QmpClient.join(qmp.execute("nbd-server-stop", JsonNodeFactory.instance.objectNode()));
    }
}
