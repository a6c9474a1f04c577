package io.vmmig.strategy.qemu;

import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.MigrateSetParameters;
import io.vmmig.qmp.command.QmpResults.MigrationInfo;
import java.time.Duration;
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
 * configured limit a few passes later than it would have started with it. Reads {@code query-migrate}'s
 * {@code dirty-sync-count} through {@link MemoryWatch}; sets with {@code migrate-set-parameters}, which QEMU applies to
 * a running migration.
 */
public final class DowntimeLadder implements MemoryWatch.Listener {
    private static final Logger LOG = LoggerFactory.getLogger(DowntimeLadder.class);
    /** The first target: 50 ms (0.6 MB at 100 Mbit/s). */
    public static final long START_MILLIS = 50;
    /** Bitmap syncs without a switchover before the target doubles. */
    public static final int SYNCS_PER_STEP = 3;

    private final QmpClient qmp;
    private final String migrationId;
    private final long ceilingMillis;
    private volatile long currentMillis;
    private long syncsAtStep = -1;   // MemoryWatch's thread only

    private DowntimeLadder(QmpClient qmp, String migrationId, long ceilingMillis) {
        this.qmp = qmp;
        this.migrationId = migrationId;
        this.ceilingMillis = ceilingMillis;
        this.currentMillis = first(ceilingMillis);
    }

    /**
     * Sets the first target on the source QEMU (before {@code migrate}: {@code ceilingMillis} stays what the
     * migration may take at most); raised from the migration's progress once {@link MemoryWatch} reads it.
     */
    public static DowntimeLadder set(QmpClient qmp, String migrationId, long ceilingMillis) {
        DowntimeLadder l = new DowntimeLadder(qmp, migrationId, ceilingMillis);
        qmp.call(MigrateSetParameters.bandwidthAndDowntime(null, l.currentMillis));
        return l;
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

    @Override
    public void onActive(MigrationInfo info, long nowNanos) {
        if (currentMillis >= ceilingMillis) return;   // at the configured limit: nothing more to raise
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

    /** The target in force now (at the switchover: the one QEMU switched over with). */
    public long currentMillis() {
        return currentMillis;
    }

    @Override
    public String toString() {
        return "the downtime ladder";
    }
}
