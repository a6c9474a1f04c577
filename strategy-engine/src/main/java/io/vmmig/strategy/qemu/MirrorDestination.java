package io.vmmig.strategy.qemu;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.nbd.qemu.QemuNbdServer;
import io.vmmig.qmp.EventFilter;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpEventListener;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination side of the mirror baseline, as libvirt's {@code qemuMigrationDstStartNBDServer}
 * does it: the destination QEMU's disk node is directly the local target image (no agent in the I/O
 * path), and QEMU's own NBD server exports it writable while QEMU waits for memory, for the source's
 * mirror job to write into. The disk is complete once the memory migration completed here (the
 * source ended its mirror while paused, before the switchover); then the export and the server go.
 */
public final class MirrorDestination implements DestinationStrategy {
    private static final Logger LOG = LoggerFactory.getLogger(MirrorDestination.class);

    /**
     * @param targetImage the local image (already created, same virtual size as the source disk)
     * @param format      qcow2 or raw
     * @param diskNode    node name of the format node the guest device uses
     * @param workDir     where the NBD server's socket goes (UNIX form)
     * @param tcpListen   where QEMU's NBD server listens on TCP instead of the UNIX socket (the mirror
     *                    between hosts), or null
     * @param tlsCredsId  the NBD server in TLS with these server credentials ({@link QemuTlsCreds}), or null
     */
    public record Config(String migrationId, Path targetImage, String format, String diskNode, Path workDir,
                         Duration timeout, InetSocketAddress tcpListen, String tlsCredsId) {
        public Config {
            if (tcpListen != null && (tcpListen.getPort() <= 0 || tcpListen.getHostString().isEmpty()))
                throw new IllegalArgumentException("the mirror's TCP listen address needs a host and a port > 0, got "
                        + tcpListen);
        }

        /** Listening on a UNIX socket in {@code workDir} ({@link #socket()}). */
        public Config(String migrationId, Path targetImage, String format, String diskNode, Path workDir,
                      Duration timeout) {
            this(migrationId, targetImage, format, diskNode, workDir, timeout, null, null);
        }

        /** This config with QEMU's NBD server listening on TCP {@code host:port} instead (the caller picks the port). */
        public Config withTcpListen(String host, int port) {
            return new Config(migrationId, targetImage, format, diskNode, workDir, timeout,
                    InetSocketAddress.createUnresolved(host, port), tlsCredsId);
        }

        /** This config with the NBD server in TLS (server credentials {@code credsId}; null: plain). */
        public Config withTls(String credsId) {
            return new Config(migrationId, targetImage, format, diskNode, workDir, timeout, tcpListen, credsId);
        }
    }

    private final Config config;
    private final MigrationTimeline timeline;
    private final CompletableFuture<MirrorTarget> exported = new CompletableFuture<>();
    private final CompletableFuture<Void> complete = new CompletableFuture<>();
    private QemuNbdServer server;
    private QemuNbdServer.Export export;
    private TcpNbdExport tcpExport;
    private QmpEventListener migrationEvents;
    private Thread watcher;
    private volatile boolean closing;

    public MirrorDestination(Config config, MigrationTimeline timeline) {
        this.config = config;
        this.timeline = timeline;
    }

    /** The file node and the format node (named the configured disk node) of the local image. */
    @Override
    public List<String> qemuBlockdevArgs() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        String fileNode = config.diskNode() + "-file";
        ObjectNode file = f.objectNode().put("driver", "file").put("filename", config.targetImage().toString())
                .put("node-name", fileNode);
        ObjectNode fmt = f.objectNode().put("driver", config.format()).put("file", fileNode)
                .put("node-name", config.diskNode());
        return List.of("-blockdev", file.toString(), "-blockdev", fmt.toString());
    }

    /** The export the source mirrors into; completes in {@link #attach}. */
    public CompletableFuture<MirrorTarget> exported() {
        return exported;
    }

    public String exportName() {
        return "vmmig-" + config.migrationId() + "-disk";
    }

    public Path socket() {
        return config.workDir().resolve("mirror-" + config.migrationId() + ".sock");
    }

    /**
     * {@code nbd-server-start} on a UNIX socket (or on the configured TCP address) and a writable
     * {@code block-export-add} of the disk node.
     */
    @Override
    public void attach(QmpClient qmp) {
        try {
            migrationEvents = qmp.listen("vmmig-mirror-incoming", EventFilter.named("MIGRATION"));
            watcher = new Thread(this::watchMigration, "vmmig-mirror-incoming-" + config.migrationId());
            watcher.setDaemon(true);
            watcher.start();
            MirrorTarget target;
            InetSocketAddress tcp = config.tcpListen();
            if (tcp != null) {
                tcpExport = TcpNbdExport.start(qmp, tcp.getHostString(), tcp.getPort(), config.tlsCredsId(), exportName(),
                        config.diskNode());
                target = MirrorTarget.tcp(tcp.getHostString(), tcp.getPort(), exportName());
            } else {
                server = QemuNbdServer.start(qmp, socket());
                export = server.exportWritable(exportName(), config.diskNode());
                target = new MirrorTarget(server.socket(), export.name());
            }
            timeline.mark(MigrationEvent.DESTINATION_READY);
            exported.complete(target);
        } catch (RuntimeException e) {
            exported.completeExceptionally(e);
            close();
            throw e;
        }
    }

    private void watchMigration() {
        try {
            migrationEvents.await(e -> {
                String s = e.dataText("status");
                if ("failed".equals(s) || "cancelled".equals(s)) {
                    throw new IllegalStateException("incoming memory migration " + s + ": the disk is not complete");
                }
                return "completed".equals(s);
            }, config.timeout());
            complete.complete(null);
        } catch (RuntimeException e) {
            if (!closing) LOG.warn("migration {}: {}", config.migrationId(), e.toString());
            complete.completeExceptionally(e);
        }
    }

    /** Completes when the memory migration completed here: the mirror made the disk consistent at the pause. */
    @Override
    public CompletableFuture<Void> complete() {
        return complete;
    }

    /** {@code block-export-del} (waiting for BLOCK_EXPORT_DELETED) and {@code nbd-server-stop}. */
    @Override
    public void finish() {
        if (!complete.isDone() || complete.isCompletedExceptionally()) {
            throw new IllegalStateException("finish before the memory migration completed");
        }
        if (export != null) export.delete(config.timeout());
        if (server != null) server.close();
        if (tcpExport != null) {
            tcpExport.deleteExport(config.timeout());
            tcpExport.stopServer();
        }
        timeline.mark(MigrationEvent.EXPORT_REMOVED);
        LOG.info("migration {}: destination disk is local ({}), NBD export removed", config.migrationId(),
                config.targetImage());
    }

    @Override
    public DestinationReport report() {
        return new DestinationReport(0, 0, 0, 0, 0, 0);   // no pivot: QEMU used the local image from the start
    }

    /** Best effort: export, server, event watch. */
    @Override
    public void close() {
        closing = true;
        Runnable[] steps = {
            () -> { if (export != null) export.delete(config.timeout()); },
            () -> { if (server != null) server.close(); },
            () -> { if (tcpExport != null) tcpExport.deleteExport(config.timeout()); },
            () -> { if (tcpExport != null) tcpExport.stopServer(); },
            () -> { if (migrationEvents != null) migrationEvents.close(); },
        };
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                LOG.debug("releasing destination resources of {}: {}", config.migrationId(), e.toString());
            }
        }
        if (watcher != null) watcher.interrupt();
    }
}
