package io.vmmig.strategy.qemu;

import io.vmmig.qmp.EventFilter;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpEvent;
import io.vmmig.qmp.QmpEventListener;
import io.vmmig.qmp.QmpException;
import io.vmmig.qmp.command.QmpCommands.MigrateContinue;
import io.vmmig.qmp.command.QmpCommands.MigrateSetCapabilities;
import io.vmmig.qmp.command.QmpCommands.QueryMigrate;
import io.vmmig.qmp.command.QmpCommands.QueryMigrateCapabilities;
import io.vmmig.qmp.command.QmpResults.MigrationCapability;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Observes the source QEMU's memory migration and acts at the hand-over of control, whoever issued
 * {@code migrate}: QEMU pauses before switchover ({@code pause-before-switchover}, which this class
 * turns on if nobody did), the storage hand-over runs while the guest is paused, then this class
 * lets QEMU continue with {@code migrate-continue}. Memory migration is never held back otherwise.
 */
public final class Cutover implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Cutover.class);

    /** What runs while the source is paused at pre-switchover. */
    @FunctionalInterface
    public interface Action {
        void run() throws Exception;
    }

    private final QmpClient qmp;
    private final QmpEventListener events;
    private final Action atPause;
    private final Runnable afterContinue;
    private final CompletableFuture<Void> paused = new CompletableFuture<>();
    private final CompletableFuture<Void> completed = new CompletableFuture<>();
    private final Thread watcher;
    private volatile long pausedAtNanos;
    private volatile long resumedAtNanos;
    private volatile boolean closed;
    /** Capabilities this class turned on, with their previous (off) state, to restore after a cancel. */
    private final List<MigrationCapability> changedCapabilities = new java.util.ArrayList<>();

    /**
     * Enables {@code events} and {@code pause-before-switchover} on the source (refused once a
     * migration is running: then whoever started it must have enabled them) and starts watching.
     */
    public Cutover(QmpClient qmp, Action atPause) {
        this(qmp, atPause, () -> { });
    }

    /** The same, running {@code afterContinue} once {@code migrate-continue} returned (off the guest's paused time). */
    public Cutover(QmpClient qmp, Action atPause, Runnable afterContinue) {
        this.qmp = qmp;
        this.atPause = atPause;
        this.afterContinue = afterContinue;
        String status = qmp.call(new QueryMigrate()).status();
        if (status == null || status.equals("none") || status.equals("completed") || status.equals("failed")
                || status.equals("cancelled")) {
            List<MigrationCapability> wanted = List.of(new MigrationCapability("events", true),
                    new MigrationCapability("pause-before-switchover", true));
            for (MigrationCapability c : qmp.call(new QueryMigrateCapabilities())) {
                for (MigrationCapability w : wanted) {
                    if (w.capability().equals(c.capability()) && !c.state()) changedCapabilities.add(c);
                }
            }
            qmp.call(new MigrateSetCapabilities(wanted));
        } else {
            LOG.info("migration already {}: relying on pause-before-switchover being enabled", status);
        }
        this.events = qmp.listen("vmmig-cutover", EventFilter.named("MIGRATION"));
        this.watcher = new Thread(this::watch, "vmmig-cutover");
        this.watcher.setDaemon(true);
        this.watcher.start();
    }

    private void watch() {
        try {
            while (!closed) {
                QmpEvent e = events.next(Duration.ofDays(1));
                String status = e.dataText("status");
                LOG.debug("source migration status {}", status);
                switch (status) {
                    case "pre-switchover" -> handOver();
                    case "completed" -> {
                        completed.complete(null);
                        return;
                    }
                    case "failed", "cancelled" -> {
                        String why = status.equals("failed") ? errorDescription() : null;
                        RuntimeException f = new MemoryMigrationFailedException(MigrationEvent.Side.SOURCE, status, why);
                        paused.completeExceptionally(f);
                        completed.completeExceptionally(f);
                        return;
                    }
                    default -> { }
                }
            }
        } catch (QmpException e) {
            if (!closed) {
                paused.completeExceptionally(e);
                completed.completeExceptionally(e);
            }
        }
    }

    /** QEMU's reason for a failed migration ({@code query-migrate error-desc}, e.g. a TLS certificate refused), or null. */
    private String errorDescription() {
        try {
            return qmp.call(new QueryMigrate()).errorDesc();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private void handOver() {
        pausedAtNanos = System.nanoTime();
        try {
            atPause.run();
            paused.complete(null);
        } catch (Exception e) {
            // Storage could not be handed over: the migration must not complete. Cancelling it
            // resumes the guest at the source, intact.
            LOG.error("storage hand-over failed at pre-switchover, cancelling the migration", e);
            paused.completeExceptionally(e);
            qmp.call(new io.vmmig.qmp.command.QmpCommands.MigrateCancel());
            return;
        }
        qmp.call(new MigrateContinue("pre-switchover"));
        resumedAtNanos = System.nanoTime();
        try {
            afterContinue.run();
        } catch (RuntimeException e) {
            LOG.warn("storage clean-up after the switchover's pause: {}", e.toString());
        }
    }

    /**
     * After a migration that did not switch over (cancelled or failed): turns the capabilities this
     * class enabled back off, so the source QEMU is as vmmig found it. Best effort.
     */
    public void restoreCapabilities() {
        if (changedCapabilities.isEmpty()) return;
        try (QmpEventListener ends = qmp.listen("vmmig-restore", EventFilter.named("MIGRATION"))) {
            String status = qmp.call(new QueryMigrate()).status();
            if (!isFinished(status)) {
                // migrate_cancel is asynchronous: capabilities can only change once it is over.
                ends.await(e -> isFinished(e.dataText("status")), Duration.ofSeconds(30));
            }
            qmp.call(new MigrateSetCapabilities(List.copyOf(changedCapabilities)));
            changedCapabilities.clear();
        } catch (RuntimeException e) {
            LOG.warn("could not restore the source's migration capabilities: {}", e.toString());
        }
    }

    private static boolean isFinished(String status) {
        return status == null || status.equals("none") || status.equals("cancelled") || status.equals("failed")
                || status.equals("completed");
    }

    /** Completes once the hand-over ran at the pause (fails if it or the migration failed). */
    public CompletableFuture<Void> handedOver() {
        return paused;
    }

    /** Completes when QEMU reports the memory migration completed. */
    public CompletableFuture<Void> completed() {
        return completed;
    }

    /** Time between the pre-switchover event and migrate-continue returning: storage's share of downtime. */
    public Duration pauseSpent() {
        return resumedAtNanos == 0 ? Duration.ZERO : Duration.ofNanos(resumedAtNanos - pausedAtNanos);
    }

    @Override
    public void close() {
        closed = true;
        events.close();
        watcher.interrupt();
    }
}
