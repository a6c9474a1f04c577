package io.vmmig.it.migration;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.testkit.Workload;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pre-copy of a running, writing guest between two real QEMUs: rounds of pushes until a round
 * leaves little dirty, memory migration, the last round while paused, nothing left to pull.
 */
class PrecopyMigrationIT {
    private static final int CHUNK = 256 * 1024;
    private static final long BLOCKS = 8192;     // 32 MiB written area

    @TempDir Path dir;

    @Test
    void writingGuestMigratesInRoundsAndNeedsNoPull() throws Exception {
        Workload w = Workload.defaults().withBlocks(BLOCKS).withHotSet(0, 256).withRate(2000);
        try (TwoHosts hosts = TwoHosts.start(dir, w, 128L << 20)) {
            MigrationReport r = hosts.migrate(Strategy.PRECOPY, CHUNK, TwoHosts.defaultPush(),
                    ChunkTransferSource.PrecopyLimits.defaults(), () -> { });
            System.out.print(r.summary());

            assertTrue(r.source().pushedBytes() >= BLOCKS * 4096, "the whole written area was pushed: " + r.source());
            assertTrue(r.source().rounds() >= 2, "several rounds (at least one in the background and the final one): " + r.source());
            assertFalse(r.source().iterationLimitHit(), "a 1 MiB hot set converges under the default limits");
            assertEquals(0, r.source().remainingChunks(), "pre-copy hands over nothing");
            // Only the destination QEMU's probe of the first sectors, read through to the source
            // before the hand-over, may be served by the source: no chunk is pulled.
            assertTrue(r.source().servedPullBytes() < CHUNK, "the source served no chunk pull: " + r.source());
            assertEquals(0, r.destination().pulledBytes());
            assertEquals(0, r.destination().pulledOnDemand() + r.destination().pulledBackground());
            assertEquals(r.source().pushedBytes(), r.destination().receivedPushBytes(), "every push was stored");

            DestinationChecks.guestIntactWithoutSource(hosts, BLOCKS);
        }
    }
}
