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
 * Post-copy of a running, writing guest between two real QEMUs: nothing is pushed, the guest
 * switches over at once and every allocated chunk is pulled afterwards while it runs there.
 */
class PostcopyMigrationIT {
    private static final int CHUNK = 256 * 1024;
    private static final long BLOCKS = 8192;     // 32 MiB written area = 128 chunks

    @TempDir Path dir;

    @Test
    void writingGuestSwitchesOverFirstAndPullsEverything() throws Exception {
        Workload w = Workload.defaults().withBlocks(BLOCKS).withHotSet(0, 256).withRate(2000);
        try (TwoHosts hosts = TwoHosts.start(dir, w, 128L << 20)) {
            MigrationReport r = hosts.migrate(Strategy.POSTCOPY, CHUNK, TwoHosts.defaultPush(),
                    ChunkTransferSource.PrecopyLimits.defaults(), () -> { });
            System.out.print(r.summary());

            long allocatedChunks = BLOCKS * 4096 / CHUNK;
            assertEquals(0, r.source().pushedChunks(), "post-copy pushes nothing");
            assertEquals(0, r.source().pushedBytes());
            assertEquals(0, r.destination().receivedPushBytes());
            assertTrue(r.source().remainingChunks() >= allocatedChunks,
                    "every allocated chunk is handed over: " + r.source().remainingChunks());
            var d = r.destination();
            assertEquals(r.source().remainingChunks(), d.pulledOnDemand() + d.pulledBackground() + d.cancelledByWrite(),
                    "every remaining chunk was pulled or overwritten: " + d);
            assertEquals((r.source().remainingChunks() - d.cancelledByWrite()) * (long) CHUNK, d.pulledBytes(),
                    "pulled bytes: " + d);
            assertTrue(r.source().servedPullBytes() >= d.pulledBytes(), "the source served the pulls: " + r.source());

            DestinationChecks.guestIntactWithoutSource(hosts, BLOCKS);
        }
    }
}
