package io.vmmig.strategy.qemu;

import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.Migrate;
import io.vmmig.qmp.command.QmpCommands.MigrateCancel;
import io.vmmig.qmp.command.QmpCommands.MigrateSetParameters;
import io.vmmig.qmp.command.QmpCommands.QueryMigrate;
import io.vmmig.qmp.command.QmpResults.MigrationInfo;
import io.vmmig.strategy.Strategy;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives the source side of one migration: the disk strategy around QEMU's memory migration. The
 * memory migration is started here when a URI is given; otherwise another party issues
 * {@code migrate} and this only observes (the {@link Cutover} acts at the pause either way).
 * Any failure before the switchover cancels: the guest keeps running at the source and every trace
 * of vmmig is removed from its QEMU.
 */
public final class SourceMigration {
    private static final Logger LOG = LoggerFactory.getLogger(SourceMigration.class);

    /**
     * @param migrateUri where QEMU sends memory ({@code tcp:HOST:PORT}, {@code unix:PATH}); null when
     *                   someone else issues {@code migrate}
     * @param memoryTls  the memory stream in TLS ({@code migrate-set-parameters tls-creds/tls-hostname} before
     *                   {@code migrate}, both reset to {@code ""} if the migration fails before the switchover),
     *                   or null for plain
     * @param memory     the memory migration's settings, set right before {@code migrate} (and put back as they were
     *                   if the migration fails before the switchover), or null to leave QEMU's own
     * @param link       the migration's part of the link, which its push and its memory stream share
     *                   ({@link LinkGovernor}), or null for no common budget (each has its own limit, if any)
     */
    public record Options(String migrationId, Strategy strategy, String strategyName, String migrateUri, Duration timeout,
                          StreamTls memoryTls, MemorySettings memory, io.vmmig.strategy.link.LinkBudget.Share link) {
        public Options {
            if (strategyName == null) strategyName = strategy.cliName();
        }

        public Options(String migrationId, Strategy strategy, String strategyName, String migrateUri, Duration timeout,
                       StreamTls memoryTls, MemorySettings memory) {
            this(migrationId, strategy, strategyName, migrateUri, timeout, memoryTls, memory, null);
        }

        /** QEMU's own memory settings. */
        public Options(String migrationId, Strategy strategy, String strategyName, String migrateUri, Duration timeout,
                       StreamTls memoryTls) {
            this(migrationId, strategy, strategyName, migrateUri, timeout, memoryTls, null);
        }

        /** Plain memory stream. */
        public Options(String migrationId, Strategy strategy, String strategyName, String migrateUri, Duration timeout) {
            this(migrationId, strategy, strategyName, migrateUri, timeout, null);
        }

        /** The strategy named as the engine names it. */
        public Options(String migrationId, Strategy strategy, String migrateUri, Duration timeout) {
            this(migrationId, strategy, null, migrateUri, timeout, null);
        }
    }

    private final QmpClient qmp;
    private final SourceStrategy disk;
    private final Options options;
    private final MigrationTimeline timeline;
    private final CompletableFuture<Void> cancelRequested = new CompletableFuture<>();
    private volatile boolean switchedOver;
    private volatile MemorySettings.Applied memoryApplied;
    /** Lowers QEMU's switchover target while memory converges ({@link DowntimeLadder}); null when vmmig left QEMU's settings. */
    private volatile DowntimeLadder ladder;

    public SourceMigration(QmpClient qmp, SourceStrategy disk, Options options, MigrationTimeline timeline) {
        this.qmp = qmp;
        this.disk = disk;
        this.options = options;
        this.timeline = timeline;
    }

    /** Asks a running {@link #run()} to cancel; honoured only before the switchover. */
    public void cancel(String reason) {
        cancelRequested.completeExceptionally(new CancelledException(reason));
    }

    /** Whether QEMU's switchover happened (from then on the migration can only finish forward). */
    public boolean switchedOver() {
        return switchedOver;
    }

    /** The memory settings as the source QEMU reported them once set before {@code migrate}; null if vmmig left QEMU's own. */
    public MemorySettings memorySettings() {
        MemorySettings.Applied a = memoryApplied;
        return a == null ? null : a.now();
    }

    /**
     * The {@code downtime-limit} QEMU switched over with (or aims at now): {@link DowntimeLadder} starts below the
     * configured limit and raises it while memory does not converge. -1 if vmmig left QEMU's own settings.
     */
    public long downtimeTargetMillis() {
        DowntimeLadder l = ladder;
        return l == null ? -1 : l.currentMillis();
    }

    /** Runs the migration to its end and reports; throws (after cancelling cleanly) if it failed before the switchover. */
    public MigrationReport run() throws Exception {
        return runAfter(CompletableFuture.completedFuture(null), () -> { });
    }

    /**
     * Like {@link #run()}, but issues {@code migrate} only once {@code destinationListening} completed
     * (the destination QEMU listens for memory) and {@code beforeMemory} ran.
     */
    public MigrationReport runAfter(CompletableFuture<Void> destinationListening, Runnable beforeMemory) throws Exception {
        return run(destinationListening.thenApply(v -> options.migrateUri()), beforeMemory);
    }

    /**
     * Like {@link #run()}, but the memory URI comes from the destination once its QEMU listens (the
     * options' URI is not used); a null URI means someone else issues {@code migrate}.
     */
    public MigrationReport runTo(CompletableFuture<String> destinationUri) throws Exception {
        return run(destinationUri, () -> { });
    }

    private MigrationReport run(CompletableFuture<String> destinationUri, Runnable beforeMemory) throws Exception {
        timeline.mark(MigrationEvent.STARTED);
        boolean memoryStarted = false;
        boolean tlsSet = false;
        Cutover cutover = null;
        SwitchoverYield yielder = null;
        MemoryWatch watch = null;
        SourceStrategy.PushLink pushLink = disk.pushLink();
        LinkGovernor governor = options.link() == null || pushLink == null ? null
                : new LinkGovernor(qmp, options.migrationId(), options.link(),
                        options.memory() == null || options.memory().unlimited() ? 0 : options.memory().maxBandwidth());
        try (Cutover c = new Cutover(qmp, disk::atPause, disk::afterPause); LinkGovernor g = governor) {
            cutover = c;
            if (g != null) g.start(pushLink.bucket(), pushLink.wireBytes());
            disk.start();
            timeline.mark(MigrationEvent.DISK_STARTED);
            awaitOrCancel(disk.readyForMemory(), "the disk to be ready for memory migration");
            awaitOrCancel(destinationUri, "the destination to listen for memory");
            beforeMemory.run();
            String uri = destinationUri.join();
            if (uri != null) {
                StreamTls tls = options.memoryTls();
                if (tls != null) {
                    tlsSet = true;
                    qmp.call(MigrateSetParameters.tls(tls.credsId(), tls.hostname()));
                }
                MemorySettings memory = options.memory();
                if (governor != null && options.link().coversMemory()) {
                    // the push and memory share the budget from the first byte of memory on
                    long m = governor.initial(true).memoryBytesPerSecond();
                    memory = (memory == null ? MemorySettings.defaults() : memory).withMaxBandwidth(
                            Math.min(m, memory == null ? MemorySettings.UNLIMITED : memory.maxBandwidth()));
                }
                if (memory != null) {
                    memoryApplied = memory.apply(qmp);
                    ladder = DowntimeLadder.set(qmp, options.migrationId(), memoryApplied.now().downtimeLimitMillis());
                    LOG.info("migration {}: memory migration with {} (aiming at {} ms first)", options.migrationId(),
                            memoryApplied.now().describe(), ladder.currentMillis());
                }
                qmp.call(new Migrate(uri, null, null));
                memoryStarted = true;
                SourceStrategy.PushYield push = disk.pushYield();
                if (push != null) yielder = new SwitchoverYield(options.migrationId(), push, timeline);
                java.util.List<MemoryWatch.Listener> steering = new java.util.ArrayList<>();
                if (ladder != null) steering.add(ladder);
                if (yielder != null) steering.add(yielder);
                if (!steering.isEmpty()) watch = MemoryWatch.start(qmp, options.migrationId(), steering);
                if (governor != null) governor.memoryStarted(memory == null ? MemorySettings.UNLIMITED : memory.maxBandwidth());
                timeline.mark(MigrationEvent.MEMORY_STARTED);
            }
            awaitOrCancel(cutover.completed(), "the memory migration");
            switchedOver = true;
            if (watch != null) watch.close();
            if (yielder != null) yielder.close();
            if (governor != null) governor.close();   // the guest's memory is across; the pull is limited at the destination
            timeline.mark(MigrationEvent.SWITCHED_OVER);
            MigrationInfo info = QemuDowntime.completedInfo(qmp, Duration.ofSeconds(5));   // while the source QEMU is surely there
            // The guest runs at the destination: the pull is a durable state, no timeout ends it (the
            // destination reconnects after a cut; only its DONE, or a failure it reports, ends the wait).
            disk.finished().get();
            timeline.mark(MigrationEvent.DISK_COMPLETE);
            long downtime = info.downtime() == null ? -1 : info.downtime();
            MigrationReport partial = new MigrationReport(options.migrationId(), options.strategy(), options.strategyName(),
                    timeline.at(MigrationEvent.DISK_COMPLETE).toMillis(), timeline.at(MigrationEvent.STARTED).toMillis(),
                    timeline.at(MigrationEvent.SWITCHED_OVER).toMillis(), downtime, disk.report().pauseMillis(),
                    info.ram() == null ? 0 : info.ram().transferred(), disk.report(), null, timeline.marks(), -1);
            disk.release();
            return partial;
        } catch (Exception e) {
            if (watch != null) watch.close();
            if (yielder != null) yielder.close();
            if (!switchedOver) {
                LOG.warn("migration {} failed before the switchover, cancelling: {}", options.migrationId(), e.toString());
                if (memoryStarted) {
                    try {
                        qmp.call(new MigrateCancel());
                    } catch (RuntimeException ce) {
                        LOG.warn("migrate_cancel: {}", ce.toString());
                    }
                }
                disk.cancel(e.getMessage() == null ? e.toString() : e.getMessage());
                if (cutover != null) cutover.restoreCapabilities();   // waits until migrate_cancel is over
                MemorySettings.Applied applied = memoryApplied;
                if (applied != null && !applied.restore(qmp))
                    LOG.warn("could not put the source's memory migration settings back to {}", applied.before().describe());
                if (tlsSet) {
                    try {
                        qmp.call(MigrateSetParameters.tls("", ""));
                    } catch (RuntimeException te) {
                        LOG.warn("resetting the migration's tls-creds: {}", te.toString());
                    }
                }
            }
            throw e;
        }
    }

    private void awaitOrCancel(CompletableFuture<?> f, String what) throws Exception {
        try {
            CompletableFuture.anyOf(f, cancelRequested).get(options.timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new TimeoutException("timed out after " + options.timeout() + " waiting for " + what);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception c) throw c;
            throw e;
        }
    }

    /** The operator cancelled before the switchover. */
    public static final class CancelledException extends Exception {
        public CancelledException(String reason) {
            super("cancelled: " + reason);
        }
    }
}
