package io.vmmig.strategy.qemu;

import io.vmmig.qmp.EventFilter;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpEventListener;
import io.vmmig.qmp.command.QmpCommands.BlockExportAddNbd;
import io.vmmig.qmp.command.QmpCommands.BlockExportDel;
import io.vmmig.qmp.command.QmpCommands.NbdServerStart;
import io.vmmig.qmp.command.QmpCommands.NbdServerStop;
import io.vmmig.qmp.command.QmpCommands.SocketAddressLegacy;
import java.time.Duration;

/**
 * QEMU's built-in NBD server listening on TCP, with one writable export of a node: the mirror's
 * target between hosts. ({@code io.vmmig.nbd.qemu.QemuNbdServer} is the UNIX-socket form.)
 */
final class TcpNbdExport {
    private final QmpClient qmp;
    private final String name;
    private boolean exported;
    private boolean serverUp;

    private TcpNbdExport(QmpClient qmp, String name) {
        this.qmp = qmp;
        this.name = name;
    }

    /**
     * {@code nbd-server-start} on {@code host:port} (in TLS with the server credentials {@code tlsCreds}
     * unless null), then a writable export {@code name} of {@code node}.
     */
    static TcpNbdExport start(QmpClient qmp, String host, int port, String tlsCreds, String name, String node) {
        TcpNbdExport e = new TcpNbdExport(qmp, name);
        qmp.call(new NbdServerStart(SocketAddressLegacy.inet(host, port), tlsCreds, null, null));
        e.serverUp = true;
        try {
            qmp.call(BlockExportAddNbd.of(name, node, name, true));
            e.exported = true;
        } catch (RuntimeException ex) {
            e.stopServer();
            throw ex;
        }
        return e;
    }

    String name() {
        return name;
    }

    /** {@code block-export-del} (hard: connected clients are cut) and waits for BLOCK_EXPORT_DELETED. */
    synchronized void deleteExport(Duration timeout) {
        if (!exported) return;
        try (QmpEventListener deleted = qmp.listen("export-deleted-" + name,
                EventFilter.named("BLOCK_EXPORT_DELETED").andData("id", name))) {
            qmp.call(new BlockExportDel(name, "hard"));
            deleted.await(e -> true, timeout);
        }
        exported = false;
    }

    /** {@code nbd-server-stop}. Idempotent. */
    synchronized void stopServer() {
        if (!serverUp) return;
        serverUp = false;
        qmp.call(new NbdServerStop());
    }
}
