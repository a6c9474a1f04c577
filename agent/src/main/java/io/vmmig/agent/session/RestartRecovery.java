package io.vmmig.agent.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.GuestLocation;
import io.vmmig.agent.daemon.MigrationJournal;
import io.vmmig.agent.daemon.MigrationRecord;
import io.vmmig.qmp.QmpClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a restarted agent does with a migration its journal shows in flight. Before the switchover
 * (decided from the source QEMU's own migration status, not from the journal's phase alone) the
 * migration is cancelled cleanly: at the source, vmmig's memory migration is cancelled and its
 * bitmaps, exports, NBD server, jobs and migration capabilities are removed from the VM, which runs
 * on; at the destination, the waiting QEMU is stopped and the image and directory removed. A
 * migration past the switchover is never cancelled: it is reported failed with where the guest runs
 * (resuming the pull is the business of the durable pull state).
 */
public final class RestartRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(RestartRecovery.class);
    private static final String RESTARTED = "the agent restarted while the migration was in flight";

    private RestartRecovery() {}

    /** Settles {@code r} (not terminal) after a restart of this agent. */
    public static void recover(MigrationRecord r) {
        try {
            if (r.role().equals("source")) recoverSource(r);
            else recoverDestination(r);
        } catch (RuntimeException e) {
            LOG.warn("migration {}: recovery after the restart failed: {}", r.id(), e.toString());
            r.fail(ErrorKind.FAILED, RESTARTED + "; recovery failed: " + e.getMessage(),
                    GuestLocation.of(null, null));
        }
    }

    private static void recoverSource(MigrationRecord r) {
        String socket = r.fact(MigrationJournal.QMP_SOCKET);
        if (socket == null) {   // it never reached the VM
            removeDir(r.fact(MigrationJournal.WORK_DIR));
            r.fail(ErrorKind.CANCELLED, "cancelled by an agent restart before it touched the VM", null);
            return;
        }
        QmpClient qmp;
        try {
            qmp = QmpClient.connect(Path.of(socket));
        } catch (RuntimeException e) {
            r.fail(ErrorKind.FAILED, RESTARTED + "; the VM's QMP socket " + socket + " does not answer",
                    GuestLocation.of(QemuRunState.GONE, null));
            return;
        }
        try (qmp) {
            String migration = text(call(qmp, "query-migrate").path("status"), "none");
            if (migration.equals("completed") || QemuRunState.of(qmp).equals("postmigrate")) {
                r.fail(ErrorKind.FAILED, RESTARTED + " after the switchover (source QEMU's migration: " + migration + ")",
                        GuestLocation.of(QemuRunState.of(qmp), null));
                return;
            }
            SourceCleanup.of(qmp, r.id(), r.fact(MigrationJournal.CAPABILITIES_BEFORE)).run();
            removeDir(r.fact(MigrationJournal.WORK_DIR));
            r.fail(ErrorKind.CANCELLED, "cancelled by an agent restart before the switchover (QEMU's migration was "
                    + migration + "); vmmig's bitmaps, exports and capabilities were removed from the VM",
                    GuestLocation.of(QemuRunState.of(qmp), null));
        }
    }

    private static void recoverDestination(MigrationRecord r) {
        String socket = r.fact(MigrationJournal.QEMU_QMP);
        String status = socket == null ? null : QemuRunState.at(Path.of(socket));
        if ("running".equals(status) || "paused".equals(status) || "postmigrate".equals(status)) {
            // the guest ran here: never stop it, never remove its image
            r.fail(ErrorKind.FAILED, RESTARTED + " after the switchover; the destination QEMU was kept",
                    GuestLocation.of(null, status));
            return;
        }
        if (socket != null && !QemuRunState.GONE.equals(status)) {
            try (QmpClient q = QmpClient.connect(Path.of(socket))) {
                QmpClient.join(q.execute("quit", JsonNodeFactory.instance.objectNode()));   // still waiting for memory: it never held the guest
            } catch (RuntimeException e) {
                LOG.debug("migration {}: quit of the waiting destination QEMU: {}", r.id(), e.toString());   // it may close first
            }
        }
        stopWaitingQemu(r);
        for (int i = 0; r.fact(MigrationJournal.image(i)) != null; i++) {   // every disk's image
            String image = r.fact(MigrationJournal.image(i));
            try {
                Files.deleteIfExists(Path.of(image));
            } catch (IOException e) {
                LOG.warn("migration {}: cannot remove {}: {}", r.id(), image, e.toString());
            }
        }
        removeDir(r.fact(MigrationJournal.WORK_DIR));
        r.fail(ErrorKind.CANCELLED, "cancelled by an agent restart before the switchover; the image and the waiting QEMU were removed",
                GuestLocation.neverArrived(status == null ? "not started" : status));
    }

    /**
     * Makes sure the destination QEMU the journal names is gone: waits for it to exit after the quit,
     * and kills it if it did not (only the process whose command line names this migration's directory).
     */
    private static void stopWaitingQemu(MigrationRecord r) {
        String dir = r.fact(MigrationJournal.WORK_DIR);
        if (dir == null) return;
        java.util.Optional<ProcessHandle> p = DestinationQemu.running(Path.of(dir));   // its pidfile, checked against its command line
        if (p.isEmpty()) return;
        try {
            p.get().onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("migration {}: the waiting destination QEMU (pid {}) did not quit: killing it", r.id(), p.get().pid());
            p.get().destroyForcibly();
            try {
                p.get().onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // reported by the caller's checks
            }
        }
    }

    static JsonNode call(QmpClient qmp, String command) {
        return QmpClient.join(qmp.execute(command, JsonNodeFactory.instance.objectNode()));
    }

    static JsonNode call(QmpClient qmp, String command, ObjectNode args) {
        return QmpClient.join(qmp.execute(command, args));
    }

    private static String text(JsonNode n, String otherwise) {
        return n.isMissingNode() || n.isNull() ? otherwise : n.asText();
    }

    /** Removes a migration's directory (sockets, logs) of this agent's state dir. */
    public static void removeDir(String dir) {
        if (dir == null) return;
        Path d = Path.of(dir);
        if (!Files.isDirectory(d)) return;
        try (Stream<Path> all = Files.walk(d)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.warn("cannot remove {}: {}", p, e.toString());
                }
            });
        } catch (IOException e) {
            LOG.warn("cannot remove {}: {}", d, e.toString());
        }
    }
}
