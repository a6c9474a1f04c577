package io.vmmig.agent.demo;

import io.vmmig.qmp.QmpClient;
import io.vmmig.strategy.qemu.DestinationMigration;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.strategy.qemu.DestinationStrategy;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.qemu.SourceMigration;
import io.vmmig.strategy.qemu.SourceStrategy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Both sides of one migration in one process, as two agents on one host would run them: the source
 * driver in a thread of its own (it serves the destination from the start), the destination QEMU
 * started through a {@link DestinationLauncher} with the destination strategy's disk arguments.
 */
public final class LocalPair {

    /** Starts the destination QEMU (in -incoming defer) with these disk arguments and returns its QMP client. */
    @FunctionalInterface
    public interface DestinationLauncher {
        QmpClient launch(List<String> blockdevArgs) throws Exception;
    }

    private LocalPair() {}

    /**
     * Runs the migration of the guest behind {@code srcQmp} to a destination QEMU started by
     * {@code launcher}, memory over a UNIX socket in {@code dir}; returns the combined report.
     */
    public static MigrationReport run(String id, QmpClient srcQmp, SourceStrategy source, DestinationStrategy destination,
                                      DestinationLauncher launcher, SourceMigration.Options options, Path dir,
                                      MigrationTimeline srcTimeline, MigrationTimeline dstTimeline,
                                      Runnable beforeMemory) throws Exception {
        Duration timeout = options.timeout();
        String uri = "unix:" + dir.resolve("mig-" + id + ".sock");
        SourceMigration sourceDriver = new SourceMigration(srcQmp, source,
                new SourceMigration.Options(id, options.strategy(), uri, timeout), srcTimeline);
        CompletableFuture<MigrationReport> sourceRun = new CompletableFuture<>();
        CompletableFuture<Void> destinationUp = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                sourceRun.complete(sourceDriver.runAfter(destinationUp, beforeMemory));
            } catch (Throwable e) {
                sourceRun.completeExceptionally(e);
            }
        }, "source-driver-" + id);
        t.setDaemon(true);
        t.start();
        try {
            QmpClient dstQmp = launcher.launch(destination.qemuBlockdevArgs());
            try (DestinationMigration destinationDriver = new DestinationMigration(dstQmp, destination, uri, dstTimeline)) {
                destinationUp.complete(null);
                CompletableFuture<DestinationReport> d = CompletableFuture.supplyAsync(() -> {
                    try {
                        return destinationDriver.awaitAndFinish(timeout);
                    } catch (Exception e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                });
                // Whichever side fails first ends the wait.
                CompletableFuture.anyOf(d, sourceRun).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                MigrationReport s = sourceRun.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                return s.withDestination(d.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
            }
        } catch (Exception e) {
            destinationUp.completeExceptionally(e);
            sourceDriver.cancel(e.toString());
            throw e;
        }
    }
}
