package io.vmmig.nbd.qemu;

import io.vmmig.qmp.EventFilter;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpEventListener;
import io.vmmig.qmp.command.QmpCommands.BlockExportAddNbd;
import io.vmmig.qmp.command.QmpCommands.BlockExportDel;
import io.vmmig.qmp.command.QmpCommands.NbdServerStart;
import io.vmmig.qmp.command.QmpCommands.NbdServerStop;
import java.nio.file.Path;
import java.time.Duration;

/**
 * QEMU's built-in NBD server on a UNIX socket, driven over QMP, and the exports vmmig adds to it.
 * QEMU runs at most one NBD server; {@link #close()} stops it.
 */
public final class QemuNbdServer implements AutoCloseable {
    private final QmpClient qmp;
    private final Path socket;
    private boolean stopped;

    private QemuNbdServer(QmpClient qmp, Path socket) {
        this.qmp = qmp;
        this.socket = socket;
    }

    /** {@code nbd-server-start} on {@code socket}. */
    public static QemuNbdServer start(QmpClient qmp, Path socket) {
        qmp.call(NbdServerStart.unix(socket.toString()));
        return new QemuNbdServer(qmp, socket);
    }

    /**
     * The server an earlier run of this process started in the same QEMU on {@code socket}, still
     * running (QEMU keeps it whoever talks to its monitor): an agent that restarted takes it back.
     */
    public static QemuNbdServer adopt(QmpClient qmp, Path socket) {
        return new QemuNbdServer(qmp, socket);
    }

    /** An export added earlier on this server (see {@link #adopt}), id = name. */
    public Export existing(String name, String node) {
        return new Export(name, name, node);
    }

    public Path socket() {
        return socket;
    }

    public QmpClient qmp() {
        return qmp;
    }

    /** Read-only export of {@code node} named {@code name} (also its export id). */
    public Export exportReadOnly(String name, String node) {
        return export(BlockExportAddNbd.of(name, node, name, false));
    }

    /** Writable export of {@code node}. */
    public Export exportWritable(String name, String node) {
        return export(BlockExportAddNbd.of(name, node, name, true));
    }

    /** Writable export of {@code node} with the {@code qemu:allocation-depth} context (see below). */
    public Export exportWritableWithAllocationDepth(String name, String node) {
        return export(new BlockExportAddNbd(name, node, name, true, null, null, null, true, null, null));
    }

    /**
     * Read-only export with the {@code qemu:allocation-depth} context (0 absent, 1 in this layer,
     * 2+ in a backing layer): tells which data belongs to the layer being moved.
     */
    public Export exportWithAllocationDepth(String name, String node) {
        return export(new BlockExportAddNbd(name, node, name, false, null, null, null, true, null, null));
    }

    /**
     * Read-only export carrying the dirty bitmap {@code bitmap} as {@code qemu:dirty-bitmap:BITMAP}.
     * QEMU refuses an enabled bitmap here: disable it first.
     */
    public Export exportBitmap(String name, String node, String bitmap) {
        return export(new BlockExportAddNbd(name, node, name, false, null, null,
                java.util.List.of(bitmap), null, null, null));
    }

    /** Any {@code block-export-add} of type nbd. */
    public Export export(BlockExportAddNbd spec) {
        qmp.call(spec);
        return new Export(spec.id(), spec.name(), spec.nodeName());
    }

    /** {@code nbd-server-stop}: removes every export QEMU still has on it. Idempotent. */
    @Override
    public synchronized void close() {
        if (stopped) return;
        stopped = true;
        qmp.call(new NbdServerStop());
    }

    /** One export on this server; {@link #close()} deletes it and waits until QEMU says it is gone. */
    public final class Export implements AutoCloseable {
        private final String id;
        private final String name;
        private final String node;
        private boolean deleted;

        private Export(String id, String name, String node) {
            this.id = id;
            this.name = name;
            this.node = node;
        }

        public String id() { return id; }
        public String name() { return name; }
        public String node() { return node; }
        public Path socket() { return socket; }

        /**
         * {@code block-export-del} in {@code hard} mode (clients still connected are cut) and waits
         * for {@code BLOCK_EXPORT_DELETED}: only then may its bitmap be removed.
         */
        public synchronized void delete(Duration timeout) {
            if (deleted) return;
            try (QmpEventListener deletedEvents = qmp.listen("export-deleted-" + id,
                    EventFilter.named("BLOCK_EXPORT_DELETED").andData("id", id))) {
                qmp.call(new BlockExportDel(id, "hard"));
                deletedEvents.await(e -> true, timeout);
            }
            deleted = true;
        }

        @Override
        public void close() {
            delete(Duration.ofSeconds(10));
        }

        @Override
        public String toString() {
            return "export " + name + " of node " + node + " on " + socket;
        }
    }
}
