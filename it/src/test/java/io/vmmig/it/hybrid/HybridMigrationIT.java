package io.vmmig.it.hybrid;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.it.migration.TwoHosts;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.testkit.Workload;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hybrid migration of a running, writing guest between two real QEMUs: push before cutover,
 * hand-over at the pre-switchover pause, pull after, pivot to the local image, source gone.
 */
class HybridMigrationIT {
    private static final int CHUNK = 256 * 1024;

    @TempDir Path dir;

    @Test
    void writingGuestMigratesAndVerifiesWithTheSourceKilled() throws Exception {
        // 32 MiB written area on a 128 MiB disk; hot random writes over 1 MiB after the prefill.
        Workload w = Workload.defaults().withBlocks(8192).withHotSet(0, 256).withRate(2000);
        try (TwoHosts hosts = TwoHosts.start(dir, w, 128L << 20)) {
            MigrationReport r = hosts.migrate(Strategy.HYBRID, CHUNK, TwoHosts.defaultPush(),
                    ChunkTransferSource.PrecopyLimits.defaults(), () -> { });
            System.out.print(r.summary());
            assertTrue(r.source().pushedChunks() > 0, "hybrid pushed before cutover");
            assertTrue(r.source().remainingChunks() > 0, "the hot set was left for the pull");
            assertEquals(r.source().remainingChunks(),
                    r.destination().pulledOnDemand() + r.destination().pulledBackground() + r.destination().cancelledByWrite());
            assertTrue(r.qemuDowntimeMillis() >= 0);
            assertTrue(r.guestGapMillis() > 0 && r.guestGapMillis() < 10_000,
                    "the guest's heartbeats moved to the destination console: gap " + r.guestGapMillis() + " ms");

            String v = hosts.verify(hosts.destination());
            assertTrue(v.startsWith("VERIFY OK 8192") && v.contains("ioerrors=0"), v);

            // No residual dependency: the source is gone, the guest still verifies.
            hosts.source().kill();
            assertTrue(hosts.source().awaitExit(Duration.ofSeconds(10)).isPresent());
            v = hosts.verify(hosts.destination());
            assertTrue(v.startsWith("VERIFY OK 8192") && v.contains("ioerrors=0"), v);
        }
    }
}
