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
    /** How long a SIGKILLed waiting destination QEMU may take to exit. */
    private static final java.time.Duration STOP_DEADLINE = java.time.Duration.ofSeconds(10);

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
        String dir = r.fact(MigrationJournal.WORK_DIR);
        String status = socket == null ? null : QemuRunState.at(Path.of(socket));
        boolean arrived = r.phase().switchedOver() || (dir != null && GuestFile.read(Path.of(dir)).isPresent());
        if ("running".equals(status) || "paused".equals(status) || "postmigrate".equals(status) || arrived) {
            // the guest ran here (QEMU says so, or the journal or guest.json does): never stop it, never remove its image
            r.fail(ErrorKind.FAILED, RESTARTED + " after the switchover; the destination QEMU was kept",
                    GuestLocation.of(null, status));
            return;
        }
        String stopped = stopWaitingQemu(r);
        if (stopped != null) {
            r.fail(ErrorKind.FAILED, RESTARTED + " before the switchover; " + stopped + ": it needs the operator (the guest"
                    + " runs at the source)", GuestLocation.neverArrived(status == null ? "not started" : status));
            return;
        }
        String image = r.fact(MigrationJournal.IMAGE);
        if (image != null) {
            try {
                Files.deleteIfExists(Path.of(image));
            } catch (IOException e) {
                LOG.warn("migration {}: cannot remove {}: {}", r.id(), image, e.toString());
            }
        }
        removeDir(dir);
        r.fail(ErrorKind.CANCELLED, "cancelled by an agent restart before the switchover; the image and the waiting QEMU were removed",
                GuestLocation.neverArrived(status == null ? "not started" : status));
    }

    /**
     * Stops the destination QEMU the journal names, which still waits for memory (it never held the
     * guest): SIGKILL, to the process its pidfile names when its command line has this migration's
     * directory. Not {@code quit}: QEMU's shutdown flushes every disk, and its disk node is an NBD
     * client of the killed agent's export with a {@code reconnect-delay} of minutes, so the flush, and
     * the quit, would wait that long. Returns null when it is gone, else what is wrong.
     */
    private static String stopWaitingQemu(MigrationRecord r) {
        String dir = r.fact(MigrationJournal.WORK_DIR);
        if (dir == null) return null;
        java.util.Optional<ProcessHandle> p = DestinationQemu.running(Path.of(dir));   // its pidfile, checked against its command line
        if (p.isEmpty()) return null;
        LOG.info("migration {}: stopping the destination QEMU (pid {}) that waited for memory", r.id(), p.get().pid());
        p.get().destroyForcibly();
        try {
            p.get().onExit().get(STOP_DEADLINE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while stopping the waiting destination QEMU (pid " + p.get().pid() + ")";
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return "the waiting destination QEMU (pid " + p.get().pid() + ") did not exit within " + STOP_DEADLINE.toSeconds()
                    + " s of SIGKILL";
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

    /**
     * Removes a finished migration's directory unless a QEMU of it still runs (a guest that arrived
     * here keeps its directory, with its monitor and pidfile, for as long as it runs).
     */
    public static void removeIdleDir(String dir) {
        if (dir == null || DestinationQemu.running(Path.of(dir)).isPresent()) return;
        removeDir(dir);
    }

    /** Removes a migration's directory (sockets, logs) of this agent's state dir. */
    public static void removeDir(String dir) {
        if (dir == null) return;
        Path d = Path.of(dir);
        if (!Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        if (!WorkDir.isMigrationDir(d)) {
            LOG.warn("{} is not a migration directory of this agent's state dir (STATE-DIR/m/ID): left as it is", d);
            return;
        }
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
