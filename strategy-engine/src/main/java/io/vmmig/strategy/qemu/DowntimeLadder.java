package io.vmmig.strategy.qemu;

import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.MigrateSetParameters;
import io.vmmig.qmp.command.QmpCommands.QueryMigrate;
import io.vmmig.qmp.command.QmpResults.MigrationInfo;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Aims QEMU's switchover lower than its {@code downtime-limit} while memory converges, and gives the limit back when
 * it does not. QEMU switches over as soon as the dirty memory left fits in {@code downtime-limit} at the current
 * rate; with its 300 ms that final round is up to 300 ms of the link (3.6 MB at 100 Mbit/s), all of it sent while
 * the guest is paused, even when one more pass would have left a few pages. So the memory migration starts with
 * {@link #START_MILLIS} (or the configured limit, if lower), and each time QEMU has synced its dirty bitmap
 * {@link #SYNCS_PER_STEP} more times without switching over (passes that did not get under the target) the target
 * doubles, up to the configured limit: a guest that converges pauses for less, one that does not reaches the
 * configured limit a few passes later than it would have started with it. Read every {@link #INTERVAL} from
 * {@code query-migrate}'s {@code dirty-sync-count}; set with {@code migrate-set-parameters}, which QEMU applies to a
 * running migration.
 */
public final class DowntimeLadder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DowntimeLadder.class);
    /** The first target: 50 ms (0.6 MB at 100 Mbit/s). */
    public static final long START_MILLIS = 50;
    /** Bitmap syncs without a switchover before the target doubles. */
    public static final int SYNCS_PER_STEP = 3;
    public static final Duration INTERVAL = Duration.ofMillis(200);

    private final QmpClient qmp;
    private final String migrationId;
    private final long ceilingMillis;
    private final ScheduledExecutorService ticker;
    private volatile long currentMillis;
    private long syncsAtStep = -1;   // ticker thread only

    private DowntimeLadder(QmpClient qmp, String migrationId, long ceilingMillis) {
        this.qmp = qmp;
        this.migrationId = migrationId;
        this.ceilingMillis = ceilingMillis;
        this.currentMillis = first(ceilingMillis);
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vmmig-downtime-" + migrationId);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Sets the first target on the source QEMU (before {@code migrate}: {@code ceilingMillis} stays what the
     * migration may take at most) and, once {@link #watch()} is called, raises it as the migration goes.
     */
    public static DowntimeLadder set(QmpClient qmp, String migrationId, long ceilingMillis) {
        DowntimeLadder l = new DowntimeLadder(qmp, migrationId, ceilingMillis);
        qmp.call(MigrateSetParameters.bandwidthAndDowntime(null, l.currentMillis));
        return l;
    }

    /** Starts watching the memory migration that was just started. */
    public DowntimeLadder watch() {
        if (currentMillis < ceilingMillis)
            ticker.scheduleWithFixedDelay(this::tickSafely, INTERVAL.toMillis(), INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** The first target for a configured limit of {@code ceilingMillis}. */
    static long first(long ceilingMillis) {
        return Math.min(START_MILLIS, ceilingMillis);
    }

    /** The next target after {@code currentMillis}: twice it, at most {@code ceilingMillis}. */
    static long next(long currentMillis, long ceilingMillis) {
        return Math.min(ceilingMillis, currentMillis * 2);
    }

    /** Whether QEMU synced its bitmap {@link #SYNCS_PER_STEP} times since the last step ({@code syncsAtStep}) without switching over. */
    static boolean shouldRaise(long syncsAtStep, long syncsNow) {
        return syncsAtStep >= 0 && syncsNow - syncsAtStep >= SYNCS_PER_STEP;
    }

    private void tickSafely() {
        try {
            tick();
        } catch (RuntimeException e) {
            LOG.debug("migration {}: query-migrate for the downtime target: {}", migrationId, e.toString());
        }
    }

    private void tick() {
        if (currentMillis >= ceilingMillis) return;   // at the configured limit: nothing more to raise
        MigrationInfo info = qmp.call(new QueryMigrate(), Duration.ofSeconds(2));
        if (!"active".equals(info.status()) || info.ram() == null) return;
        long syncs = info.ram().dirtySyncCount();
        if (syncsAtStep < 0) {
            syncsAtStep = syncs;
            return;
        }
        if (!shouldRaise(syncsAtStep, syncs)) return;
        long to = next(currentMillis, ceilingMillis);
        qmp.call(MigrateSetParameters.bandwidthAndDowntime(null, to), Duration.ofSeconds(2));
        LOG.info("migration {}: memory did not switch over within {} ms in {} bitmap syncs: downtime target {} ms",
                migrationId, currentMillis, syncs - syncsAtStep, to);
        currentMillis = to;
        syncsAtStep = syncs;
    }

    /** The target in force now (at the switchover, once {@link #close()}d: the one QEMU switched over with). */
    public long currentMillis() {
        return currentMillis;
    }

    /** Stops watching (the switchover happened, or the migration ended). Idempotent. */
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
