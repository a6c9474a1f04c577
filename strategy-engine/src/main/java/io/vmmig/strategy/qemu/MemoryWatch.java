package io.vmmig.strategy.qemu;

import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryMigrate;
import io.vmmig.qmp.command.QmpResults.MigrationInfo;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One reader of the source QEMU's {@code query-migrate} while memory migrates, every {@link #INTERVAL}, for the
 * parts that steer by it ({@link SwitchoverYield}, {@link DowntimeLadder}): each gets every reading of an active
 * migration with RAM figures, on this class's thread (never QMP's reader thread, so they may call QMP).
 */
final class MemoryWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MemoryWatch.class);
    static final Duration INTERVAL = Duration.ofMillis(100);

    /** A part that steers by the memory migration's progress. */
    interface Listener {
        /** A reading of the active migration ({@code info.ram()} is set); {@code nowNanos} is when it was taken. */
        void onActive(MigrationInfo info, long nowNanos);
    }

    private final ScheduledExecutorService ticker;

    private MemoryWatch(String migrationId) {
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vmmig-memory-" + migrationId);
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts reading for the memory migration that was just started; a failed reading or listener is logged and skipped. */
    static MemoryWatch start(QmpClient qmp, String migrationId, List<Listener> listeners) {
        MemoryWatch w = new MemoryWatch(migrationId);
        List<Listener> all = List.copyOf(listeners);
        w.ticker.scheduleWithFixedDelay(() -> {
            try {
                long now = System.nanoTime();
                MigrationInfo info = qmp.call(new QueryMigrate(), Duration.ofSeconds(2));
                if (!"active".equals(info.status()) || info.ram() == null) return;
                for (Listener l : all) {
                    try {
                        l.onActive(info, now);
                    } catch (RuntimeException e) {
                        LOG.debug("migration {}: {} on the memory migration's progress: {}", migrationId, l, e.toString());
                    }
                }
            } catch (RuntimeException e) {
                LOG.debug("migration {}: query-migrate: {}", migrationId, e.toString());
            }
        }, INTERVAL.toMillis(), INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        return w;
    }

    /** Stops reading (the switchover happened, or the migration ended); no listener is called after this returns. Idempotent. */
    @Override
    public void close() {
        ticker.shutdownNow();
        try {
            ticker.awaitTermination(3, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
