package io.vmmig.it.migration;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.Workload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads of chunks that never crossed, right after the switchover, are pulled on demand and return
 * the right data. Post-copy hands every chunk over; the destination's background pull is held back
 * (a delay longer than the test), so the only way a chunk arrives is a guest demand: the
 * {@code verify} the test sends as soon as the guest runs at the destination reads the whole area.
 */
class OnDemandReadIT {
    private static final int CHUNK = 256 * 1024;
    private static final long BLOCKS = 8192;         // 32 MiB = 128 chunks
    private static final long HOT_BLOCKS = 256;      // 1 MiB = 4 chunks, the only ones the writer demands

    @TempDir Path dir;

    @Test
    void readsOfMissingChunksAfterSwitchoverArePulledOnDemand() throws Exception {
        Workload w = Workload.defaults().withBlocks(BLOCKS).withHotSet(0, HOT_BLOCKS).withRate(1000);
        try (TwoHosts hosts = TwoHosts.start(dir, w, 128L << 20)) {
            CompletableFuture<MigrationReport> migration = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    migration.complete(hosts.migrate(Strategy.POSTCOPY, CHUNK, TwoHosts.defaultPush(),
                            ChunkTransferSource.PrecopyLimits.defaults(),
                            c -> c.withBackgroundPullDelay(Duration.ofMinutes(10)), () -> { }));
                } catch (Throwable e) {
                    migration.completeExceptionally(e);
                }
            }, "migration");
            t.setDaemon(true);
            t.start();

            QemuProcess dst = hosts.destinationStarted().get(60, TimeUnit.SECONDS);
            // The guest prints heartbeats on the destination's console once it runs there.
            dst.console().awaitLine(Pattern.compile("^HB \\d+ \\d+$"), Duration.ofSeconds(60));
            assertFalse(migration.isDone(), "the disk cannot be complete before any read: " + migration);
            String v;
            try {
                v = hosts.verify(dst);
            } catch (RuntimeException e) {
                throw new AssertionError("verify at the destination did not finish; pull stats "
                        + hosts.chunkDestination().transfer().pullStats(), e);
            }
            DestinationChecks.assertVerifyOk(v, BLOCKS);

            MigrationReport r = migration.get(60, TimeUnit.SECONDS);
            System.out.print(r.summary());
            var d = r.destination();
            long remaining = r.source().remainingChunks();
            assertTrue(remaining >= BLOCKS * 4096 / CHUNK, "post-copy hands every allocated chunk over: " + r.source());
            assertEquals(0, d.pulledBackground(), "the background pull never started: " + d);
            assertEquals(remaining, d.pulledOnDemand() + d.cancelledByWrite(), "every chunk came by demand: " + d);
            assertTrue(d.pulledOnDemand() > HOT_BLOCKS * 4096 / CHUNK,
                    "the reads (not only the writer's partial writes) demanded chunks: " + d);
            assertEquals((remaining - d.cancelledByWrite()) * (long) CHUNK, d.pulledBytes(), "pulled bytes: " + d);
            assertEquals(d.pulledOnDemand(), d.onDemandLatencyCount(), "one latency per on-demand pull: " + d);
            assertTrue(d.onDemandMedianMicros() > 0 && d.onDemandMaxMicros() >= d.onDemandMedianMicros(), d.toString());
            assertTrue(d.writesTakenAtOnce() > 0,
                    "the writer's 4 KiB writes into missing chunks went to the store without waiting for a pull: " + d);

            DestinationChecks.guestIntactWithoutSource(hosts, BLOCKS);
        }
    }
}
