package io.vmmig.lab.demo;

import io.vmmig.qmp.QmpClient;
import io.vmmig.strategy.qemu.DestinationMigration;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.strategy.qemu.DestinationStrategy;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.qemu.SourceMigration;
import io.vmmig.strategy.qemu.SourceStrategy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Both sides of one migration in one process, as two agents on one host would run them: the source
 * driver in a thread of its own (it serves the destination from the start: the destination QEMU
 * reads sector 0 through the destination agent as soon as its disk node exists, and that read may
 * go to the source), the destination QEMU started through a {@link DestinationLauncher} with the
 * destination strategy's disk arguments, the destination driver in another thread. Whichever side
 * fails first ends the run; the source side's failure is the one thrown (e.g. a cancellation),
 * since the destination's is usually its consequence.
 */
public final class LocalPair {

    /** Starts the destination QEMU (in -incoming defer) with these disk arguments and returns its QMP client. */
    @FunctionalInterface
    public interface DestinationLauncher {
        QmpClient launch(List<String> blockdevArgs) throws Exception;
    }

    private final String id;
    private final DestinationStrategy destination;
    private final SourceMigration sourceDriver;
    private final String incomingUri;
    private final MigrationTimeline dstTimeline;
    private final Duration timeout;

    /**
     * @param options     the source side; its {@code migrateUri} may be null when another party issues
     *                    {@code migrate} (e.g. in {@code beforeMemory} of {@link #run})
     * @param incomingUri where the destination QEMU listens for memory
     */
    public LocalPair(String id, QmpClient srcQmp, SourceStrategy source, DestinationStrategy destination,
                     SourceMigration.Options options, String incomingUri, MigrationTimeline srcTimeline,
                     MigrationTimeline dstTimeline) {
        this.id = id;
        this.destination = destination;
        this.incomingUri = incomingUri;
        this.dstTimeline = dstTimeline;
        this.timeout = options.timeout();
        this.sourceDriver = new SourceMigration(srcQmp, source, options, srcTimeline);
    }

    /** The {@code downtime-limit} the source QEMU switched over with ({@link SourceMigration#downtimeTargetMillis()}). */
    public long downtimeTargetMillis() {
        return sourceDriver.downtimeTargetMillis();
    }

    /** Asks the source side to cancel; honoured before the switchover ({@link #run} then throws the cancellation). */
    public void cancel(String reason) {
        sourceDriver.cancel(reason);
    }

    /**
     * Runs the migration; {@code beforeMemory} runs once both sides are ready, just before memory
     * migration starts; {@code onFailure} runs (before the throw) when the migration failed.
     */
    public MigrationReport run(DestinationLauncher launcher, Runnable beforeMemory, Runnable onFailure) throws Exception {
        CompletableFuture<Void> destinationUp = new CompletableFuture<>();
        CompletableFuture<MigrationReport> sourceRun = inThread("source-driver-" + id,
                () -> sourceDriver.runAfter(destinationUp, beforeMemory));
        try {
            QmpClient dstQmp = launcher.launch(destination.qemuBlockdevArgs());
            try (DestinationMigration destinationDriver = new DestinationMigration(dstQmp, destination, incomingUri, dstTimeline)) {
                destinationUp.complete(null);
                CompletableFuture<DestinationReport> destinationRun = inThread("destination-driver-" + id,
                        () -> destinationDriver.awaitAndFinish(timeout));
                CompletableFuture.anyOf(sourceRun, destinationRun).exceptionally(e -> null)
                        .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                if (sourceRun.isCompletedExceptionally()) sourceRun.join();    // throws; handled below
                DestinationReport d = unwrap(destinationRun);
                return unwrap(sourceRun).withDestination(d);
            }
        } catch (Exception e) {
            destinationUp.completeExceptionally(e);
            onFailure.run();
            Exception sourceFailure = failureOf(sourceRun);
            throw sourceFailure != null ? sourceFailure : unwrapped(e);
        }
    }

    private interface Body<T> {
        T run() throws Exception;
    }

    private static <T> CompletableFuture<T> inThread(String name, Body<T> body) {
        CompletableFuture<T> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                f.complete(body.run());
            } catch (Throwable e) {
                f.completeExceptionally(e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return f;
    }

    /** The source side's failure, waiting a bounded time for it to end; null if it succeeded or still runs. */
    private Exception failureOf(CompletableFuture<MigrationReport> sourceRun) {
        try {
            sourceRun.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return null;
        } catch (ExecutionException | CompletionException e) {
            return e.getCause() instanceof Exception c ? c : e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (TimeoutException e) {
            return null;
        }
    }

    private <T> T unwrap(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        }
    }

    private static Exception unwrapped(Exception e) {
        if ((e instanceof ExecutionException || e instanceof CompletionException) && e.getCause() instanceof Exception c) return c;
        return e;
    }
}
