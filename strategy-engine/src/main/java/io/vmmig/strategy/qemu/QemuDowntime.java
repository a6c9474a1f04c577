package io.vmmig.strategy.qemu;

import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryMigrate;
import io.vmmig.qmp.command.QmpResults.MigrationInfo;
import java.time.Duration;

/**
 * QEMU's own downtime figure. QEMU 7.2 emits the MIGRATION {@code completed} event before it computes
 * {@code total-time} and {@code downtime} ({@code migration_iteration_finish} runs after
 * {@code migrate_set_state}): a {@code query-migrate} right after the event reads {@code downtime 0}.
 * This waits for the figures. The downtime runs from the guest's stop (before the
 * {@code pre-switchover} pause) to the end, so the storage pause is inside it.
 */
public final class QemuDowntime {
    private QemuDowntime() {}

    /** Whether QEMU has computed the figures of a completed migration. */
    public static boolean computed(MigrationInfo info) {
        return "completed".equals(info.status()) && info.totalTime() != null && info.totalTime() > 0
                && info.downtime() != null;
    }

    /**
     * query-migrate until the completed migration's figures are computed (a few ms at most), or the
     * deadline; then the last answer as it is. QEMU gives no event for this, and no clock is waited on
     * either: each query is a round trip through QEMU's main loop, which the migration thread's
     * {@code migration_iteration_finish} holds (the big lock) while it computes the figures, so the
     * queries are few and the answer comes as soon as QEMU has them.
     */
    public static MigrationInfo completedInfo(QmpClient qmp, Duration deadline) throws InterruptedException {
        long end = System.nanoTime() + deadline.toNanos();
        MigrationInfo info = qmp.call(new QueryMigrate());
        while (!computed(info) && System.nanoTime() < end) {
            if (Thread.interrupted()) throw new InterruptedException("waiting for QEMU's downtime figure");
            info = qmp.call(new QueryMigrate());
        }
        return info;
    }
}
