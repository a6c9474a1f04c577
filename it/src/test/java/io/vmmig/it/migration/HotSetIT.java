package io.vmmig.it.migration;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.source.SourceOptions;
import io.vmmig.testkit.Workload;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hot set rewritten faster than the push can send it: an 8 MiB hot set written at the guest's
 * full speed (tens of MB/s under TCG) against a push limited to 16 MiB/s. Hybrid leaves the hot
 * chunks to the pull and completes; pre-copy can never converge, hits its iteration limit, says so
 * in its report and migrates anyway (its last round while paused), without hanging.
 */
class HotSetIT {
    private static final int CHUNK = 256 * 1024;
    private static final long BLOCKS = 8192;                 // 32 MiB area
    private static final long HOT_BLOCKS = 2048;             // 8 MiB = 32 chunks
    private static final long PUSH_RATE = 16L << 20;         // bytes/s
    private static final Workload HOT = Workload.defaults().withBlocks(BLOCKS).withHotSet(0, HOT_BLOCKS).withRate(0);

    @TempDir Path dir;

    private static SourceOptions slowPush() {
        return TwoHosts.defaultPush().withPushBytesPerSecond(PUSH_RATE);
    }

    @Test
    void hybridLeavesTheHotSetToThePullAndCompletes() throws Exception {
        try (TwoHosts hosts = TwoHosts.start(dir, HOT, 64L << 20)) {
            MigrationReport r = hosts.migrate(Strategy.HYBRID, CHUNK, slowPush(),
                    ChunkTransferSource.PrecopyLimits.defaults(), () -> { });
            System.out.print(r.summary());
            assertFalse(r.source().iterationLimitHit());
            assertTrue(r.source().remainingChunks() > 0, "chunks were left for the pull: " + r.source());
            var d = r.destination();
            assertEquals(r.source().remainingChunks(), d.pulledOnDemand() + d.pulledBackground() + d.cancelledByWrite());
            assertTrue(d.pulledBytes() > 0, "the hot set was pulled: " + d);
            DestinationChecks.guestIntactWithoutSource(hosts, BLOCKS);
        }
    }

    @Test
    void precopyHitsItsIterationLimitSaysSoAndStillMigrates() throws Exception {
        // Converged would mean at most one chunk dirty per round: a hot set written flat out never gets there.
        ChunkTransferSource.PrecopyLimits limits = new ChunkTransferSource.PrecopyLimits(4, CHUNK);
        try (TwoHosts hosts = TwoHosts.start(dir, HOT, 64L << 20)) {
            MigrationReport r = hosts.migrate(Strategy.PRECOPY, CHUNK, slowPush(), limits, () -> { });
            System.out.print(r.summary());
            assertTrue(r.source().iterationLimitHit(), "pre-copy must report its iteration limit: " + r.source());
            assertTrue(r.summary().contains("PRE-COPY ITERATION LIMIT HIT"), r.summary());
            assertTrue(r.source().rounds() >= limits.maxRounds(), "rounds: " + r.source().rounds());
            assertEquals(0, r.source().remainingChunks(), "pre-copy still hands over nothing");
            assertEquals(0, r.destination().pulledBytes());
            // More than the area: the hot set crossed once per round.
            assertTrue(r.source().pushedBytes() > BLOCKS * 4096 + (limits.maxRounds() - 1) * CHUNK,
                    "pushed " + r.source().pushedBytes());
            DestinationChecks.guestIntactWithoutSource(hosts, BLOCKS);
        }
    }
}
