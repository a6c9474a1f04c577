package io.vmmig.strategy.qemu;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.BlockdevAdd;
import io.vmmig.qmp.command.QmpCommands.BlockdevDel;
import io.vmmig.qmp.command.QmpCommands.BlockdevMirror;
import io.vmmig.qmp.command.QmpCommands.QueryNamedBlockNodes;
import io.vmmig.qmp.command.QmpResults.BlockDeviceInfo;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source side of the mirror baseline, as libvirt's {@code --copy-storage-all} does it: an NBD
 * client node to the destination QEMU's export of its disk (UNIX socket or TCP: {@link MirrorTarget}),
 * a {@code blockdev-mirror} of the disk onto it ({@code sync: full}, or {@code top} when the disk
 * has a backing file), memory migration once the job is READY, and at the pre-switchover pause
 * {@code block-job-cancel} without force,
 * which ends a READY mirror without pivot and leaves the destination a consistent copy. Cancelling
 * before the cutover force-cancels the job and removes the NBD node; the guest keeps running here.
 */
public final class MirrorSource implements SourceStrategy {
    private static final Logger LOG = LoggerFactory.getLogger(MirrorSource.class);

    /** QEMU's {@code copy-mode} of the mirror job (QEMU 7.2 fixes it when the job starts). */
    public enum Mode {
        /** Guest writes only mark the source dirty; the job copies them later (libvirt's default). */
        BACKGROUND("background"),
        /**
         * Guest writes to already-copied areas also go to the target before they complete: the job
         * converges whatever the write rate, guest writes pay the network latency (libvirt's
         * {@code VIR_MIGRATE_NON_SHARED_SYNCHRONOUS_WRITES}).
         */
        WRITE_BLOCKING("write-blocking");

        private final String qemuName;

        Mode(String qemuName) {
            this.qemuName = qemuName;
        }

        public String qemuName() {
            return qemuName;
        }
    }

    /**
     * @param migrationId names the job ({@code vmmig-ID}) and the NBD client node ({@link #nodeName})
     * @param node        the disk's top (format) node in the source QEMU
     * @param tls         the NBD connection in TLS (the NBD client node's {@code tls-creds} and
     *                    {@code tls-hostname}; the destination's NBD server must use TLS too), or null for plain
     */
    public record Config(String migrationId, String node, Mode mode, Duration timeout, StreamTls tls) {
        public Config(String migrationId, String node, Mode mode, Duration timeout) {
            this(migrationId, node, mode, timeout, null);
        }
    }

    /** QEMU refuses longer node names ("Node name too long"). */
    private static final int MAX_NODE_NAME = 31;

    private final QmpClient qmp;
    private final Config config;
    private final CompletableFuture<MirrorTarget> target;
    private final MigrationTimeline timeline;
    private final String jobId;
    private final String nbdNode;
    private final CompletableFuture<Void> readyForMemory = new CompletableFuture<>();
    private final CompletableFuture<Void> finished = new CompletableFuture<>();
    private Thread readyWatcher;
    private MirrorJob job;
    private volatile boolean nbdNodeAdded;
    private volatile boolean stopWatching;
    private boolean released;
    private volatile long mirroredBytes;
    private volatile long pauseNanos;

    /** {@code target} completes when the destination QEMU exports its disk (the destination agent's answer). */
    public MirrorSource(QmpClient qmp, Config config, CompletionStage<MirrorTarget> target, MigrationTimeline timeline) {
        this.qmp = qmp;
        this.config = config;
        this.target = target.toCompletableFuture();
        this.timeline = timeline;
        this.jobId = "vmmig-" + config.migrationId();
        this.nbdNode = nodeName(config.migrationId());
    }

    /**
     * {@code vmmig-ID-nbd}, or with a hash of the id when that is longer than QEMU's 31-character
     * limit on node names.
     */
    static String nodeName(String migrationId) {
        String name = "vmmig-" + migrationId + "-nbd";
        return name.length() <= MAX_NODE_NAME ? name
                : String.format("vmmig-%08x-nbd", migrationId.hashCode());
    }

    public String jobId() {
        return jobId;
    }

    public String nbdNode() {
        return nbdNode;
    }

    /**
     * Waits (up to the timeout) for the destination's export, connects to it, starts the mirror job
     * and returns; {@link #readyForMemory()} completes when the job is READY.
     */
    @Override
    public synchronized void start() throws Exception {
        String sync = syncMode();
        MirrorTarget t;
        try {
            t = target.get(config.timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new TimeoutException("no NBD export from the destination within " + config.timeout());
        } catch (ExecutionException e) {
            throw new IllegalStateException("the destination could not export its disk: " + e.getCause(), e.getCause());
        }
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode nbd = f.objectNode().put("driver", "nbd").put("node-name", nbdNode).put("export", t.export());
        nbd.set("server", t.qemuServerAddress());
        if (config.tls() != null) nbd.put("tls-creds", config.tls().credsId()).put("tls-hostname", config.tls().hostname());
        try {
            qmp.call(new BlockdevAdd(nbd), config.timeout());
            nbdNodeAdded = true;
            timeline.mark(MigrationEvent.MIRROR_CONNECTED);
            job = MirrorJob.start(qmp, new BlockdevMirror(jobId, config.node(), nbdNode, null, sync, null, null, null,
                    null, null, null, config.mode().qemuName(), null, false), config.timeout());
            timeline.mark(MigrationEvent.MIRROR_STARTED);
            LOG.info("migration {}: mirroring {} to {} ({}, sync {}, copy-mode {}, {})", config.migrationId(),
                    config.node(), t, jobId, sync, config.mode().qemuName(),
                    config.tls() == null ? "plain NBD" : "NBD over TLS, server certificate checked for " + config.tls().hostname());
        } catch (RuntimeException e) {
            release();
            throw e;
        }
        readyWatcher = new Thread(this::watchUntilReady, "vmmig-mirror-ready-" + config.migrationId());
        readyWatcher.setDaemon(true);
        readyWatcher.start();
    }

    /** {@code top} copies only the disk's own layer when it has a backing file (which the destination must have). */
    private String syncMode() {
        for (BlockDeviceInfo n : qmp.call(new QueryNamedBlockNodes(null))) {
            if (config.node().equals(n.nodeName())) {
                return n.backingFileDepth() > 0 || n.backingFile() != null ? "top" : "full";
            }
        }
        throw new IllegalArgumentException("the source QEMU has no block node named '" + config.node() + "'");
    }

    private void watchUntilReady() {
        try {
            if (job.awaitReady(config.timeout(), () -> stopWatching)) {
                mirroredBytes = job.copiedBytes();
                timeline.mark(MigrationEvent.MIRROR_READY);
                LOG.info("migration {}: mirror job {} ready after {} bytes", config.migrationId(), jobId, mirroredBytes);
                readyForMemory.complete(null);
            }
        } catch (RuntimeException e) {
            readyForMemory.completeExceptionally(e);
        }
    }

    /** Completes when the mirror job is READY: the destination is in sync and kept so. */
    @Override
    public CompletableFuture<Void> readyForMemory() {
        return readyForMemory;
    }

    /**
     * At the pre-switchover pause: ends the READY job without pivot (the destination now holds the
     * disk as of the pause) and removes the NBD client node. Throws if the job failed (the caller
     * cancels the memory migration then; the guest resumes here).
     */
    @Override
    public synchronized void atPause() {
        long t0 = System.nanoTime();
        try {
            timeline.mark(MigrationEvent.PAUSED);
            if (!readyForMemory.isDone() || readyForMemory.isCompletedExceptionally()) {
                throw new IllegalStateException("paused before mirror job " + jobId + " was ready");
            }
            mirroredBytes = Math.max(mirroredBytes, job.copiedBytes());
            mirroredBytes = Math.max(mirroredBytes, job.completeWithoutPivot(config.timeout()));
            job.close();
            job = null;
            timeline.mark(MigrationEvent.MIRROR_COMPLETED);
            qmp.call(new BlockdevDel(nbdNode), config.timeout());
            nbdNodeAdded = false;
            finished.complete(null);
        } finally {
            pauseNanos = System.nanoTime() - t0;
        }
    }

    /** Completes once {@link #atPause()} ended the job and disconnected from the destination. */
    @Override
    public CompletableFuture<Void> finished() {
        return finished;
    }

    /** Cancels before the cutover: force-cancels the job, removes the NBD node; the guest keeps running here. */
    @Override
    public void cancel(String reason) {
        LOG.info("migration {}: cancelling the mirror: {}", config.migrationId(), reason);
        readyForMemory.completeExceptionally(new IllegalStateException("mirror cancelled: " + reason));
        finished.completeExceptionally(new IllegalStateException("mirror cancelled: " + reason));
        release();
    }

    /**
     * Removes the job (force-cancelled if it still runs) and the NBD client node. Idempotent; each
     * step is tried even if an earlier one failed.
     */
    @Override
    public void release() {
        stopWatching = true;
        Thread w = readyWatcher;
        if (w != null && w != Thread.currentThread()) {
            try {
                w.join(config.timeout().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            if (released) return;
            released = true;
            if (job != null) {
                try {
                    mirroredBytes = Math.max(mirroredBytes, job.copiedBytes());
                    job.forceCancel(config.timeout());
                } catch (RuntimeException e) {
                    LOG.warn("removing mirror job {}: {}", jobId, e.toString());
                } finally {
                    job.close();
                    job = null;
                }
            }
            if (nbdNodeAdded) {
                try {
                    qmp.call(new BlockdevDel(nbdNode), config.timeout());
                    nbdNodeAdded = false;
                } catch (RuntimeException e) {
                    LOG.warn("removing NBD node {}: {}", nbdNode, e.toString());
                }
            }
        }
    }

    @Override
    public SourceReport report() {
        return new SourceReport(0, 0, 0, 0, 0, 0, 0, 0, pauseNanos / 1_000_000, false, mirroredBytes);
    }
}
