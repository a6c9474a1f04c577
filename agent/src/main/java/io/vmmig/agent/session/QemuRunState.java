package io.vmmig.agent.session;

import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryMigrate;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import java.nio.file.Path;

/**
 * QEMU's run state as QEMU says it ({@code query-status}: {@code running}, {@code paused},
 * {@code postmigrate}, {@code inmigrate}, ...), or {@link #GONE} when it cannot be asked (exited, socket gone).
 */
public final class QemuRunState {
    /** The QEMU exited or its QMP socket does not answer. */
    public static final String GONE = "gone";

    private QemuRunState() {}

    /** Over an open QMP connection. */
    public static String of(QmpClient qmp) {
        try {
            return qmp.call(new QueryStatus()).status();
        } catch (RuntimeException e) {
            return GONE;
        }
    }

    /** Over a fresh QMP connection to {@code socket} (QEMU serves one client at a time: only when no session holds it). */
    public static String at(Path socket) {
        try (QmpClient q = QmpClient.connect(socket)) {
            return of(q);
        } catch (RuntimeException e) {
            return GONE;
        }
    }

    /**
     * Why QEMU's last outgoing memory migration failed ({@code query-migrate}'s {@code error-desc}, e.g. a
     * TLS certificate it refused), over a fresh QMP connection to {@code socket}; null when it did not fail
     * or cannot be asked.
     */
    public static String migrationError(Path socket) {
        try (QmpClient q = QmpClient.connect(socket)) {
            var m = q.call(new QueryMigrate());
            return "failed".equals(m.status()) ? m.errorDesc() : null;
        } catch (RuntimeException e) {
            return null;
        }
    }
}
