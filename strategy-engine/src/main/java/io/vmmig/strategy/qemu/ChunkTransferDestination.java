package io.vmmig.strategy.qemu;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.client.NbdClientOptions;
import io.vmmig.nbd.protocol.NbdException;
import io.vmmig.nbd.qemu.QemuNbdServer;
import io.vmmig.nbd.server.NbdExport;
import io.vmmig.nbd.server.NbdServer;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.BlockdevDel;
import io.vmmig.qmp.command.QmpCommands.BlockdevReopen;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.DiskLayout;
import io.vmmig.strategy.DiskSetBackend;
import io.vmmig.strategy.DiskWindow;
import io.vmmig.strategy.OnDemandLatency;
import io.vmmig.strategy.destination.GuestWriteStats;
import io.vmmig.strategy.destination.DestinationDiskTransfer;
import io.vmmig.strategy.peer.PeerChannel;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination side of a hybrid migration of a VM's disks (one transfer over one {@link DiskLayout};
 * each disk has its own export on the agent's socket, its own nodes and local image). Before the destination QEMU starts, the
 * agent serves the guest's disk on its own NBD socket ({@link #qemuBlockdevArgs}): the QEMU's disk
 * node is a raw node over an NBD client node pointing at the agent, beside the local target image
 * it does not use yet. Once QEMU is up ({@link #attach}), its writable export of the local image
 * becomes the agent's store (so the image is only ever open in one process). When the transfer is
 * complete, {@link #pivot} switches the disk node onto the local image with {@code blockdev-reopen}
 * while the guest runs, and the agent leaves the I/O path for good.
 *
 * <p><b>The local data path</b> ({@link Config#withLocalDataPath()}): the guest's disk node is the local qcow2
 * image itself, so the guest's reads and writes of what is already here never cross the agent; the agent's NBD
 * export is that image's backing node, read only for what the image does not hold yet. The image is qcow2 compat
 * 0.10: without a backing node, a discarded cluster of such an image becomes unallocated (compat 1.1 would mark it
 * zero), and once a backing node is attached an unallocated cluster reads from there.
 * <ol>
 * <li>Before the hand-over the image has no backing node; the agent writes the pushed chunks into it through
 * QEMU's writable export of the disk node (QEMU runs in {@code -incoming} and {@code -S}: no guest yet).</li>
 * <li>At the hand-over the agent discards every missing chunk (pushed copies the source rewrote since become
 * unallocated), then attaches its export as the backing node ({@code blockdev-reopen}); only then does it let the
 * guest run ({@code cont}, {@link #startGuest}).</li>
 * <li>From then on QEMU reads an unallocated cluster from the agent: a missing chunk is pulled at once (a guest
 * demand) and served from its pulled bytes; anything else reads as zeros (the source's holes). A pulled chunk enters
 * the image by NBD {@code CACHE} on QEMU's export: QEMU's copy-on-read reads it from the backing node and writes the
 * clusters the guest did not write meanwhile (serialised against the guest's own requests).</li>
 * <li>When no chunk is missing, {@link #pivot} detaches the backing node: the disk is a plain local image.</li>
 * </ol>
 */
public final class ChunkTransferDestination implements DestinationStrategy {
    private static final Logger LOG = LoggerFactory.getLogger(ChunkTransferDestination.class);

    /** Node names this class puts in the destination QEMU. */
    public static final String LOCAL_FILE = "vmmig-local-file";
    public static final String LOCAL_FMT = "vmmig-local-fmt";
    public static final String NBD_NODE = "vmmig-nbd0";
    /** Background pulls in flight by default (the guest's on-demand pulls go first regardless). */
    public static final int DEFAULT_PULLERS = 8;
    private static final String AGENT_EXPORT = "disk";
    /**
     * How long the destination QEMU's NBD client holds the guest's requests when the agent's NBD
     * server goes away (the agent restarted) before failing them: they are sent again once it
     * reconnects. Long enough for an agent restart by systemd or by hand; the guest sees a stall.
     */
    public static final int RECONNECT_DELAY_SECONDS = 300;

    /**
     * One disk at the destination: its local image (already created, the source disk's virtual size),
     * format (qcow2 or raw), the node name the guest device uses, and its size.
     */
    public record TargetDisk(Path image, String format, String node, long size) {}

    /**
     * @param disks       the disks in the migration's order ({@link DiskLayout}: the source's order)
     * @param backgroundPullDelay how long after the hand-over the background pull begins (zero: at
     *                    once); the guest's demands are pulled at once regardless
     * @param localChunks where the source's fingerprints are looked up (dedup), or null: every one is a miss.
     *                    Set before the first frame is read (the source may fingerprint its whole window at once)
     */
    public record Config(String migrationId, List<TargetDisk> disks, int chunkSize, int pullers, Path workDir, Duration timeout,
                         Duration backgroundPullDelay, io.vmmig.strategy.dedup.LocalChunkMatcher localChunks,
                         boolean localDataPath) {
        public Config {
            disks = List.copyOf(disks);
            if (disks.isEmpty()) throw new IllegalArgumentException("no disk");
            if (backgroundPullDelay == null || backgroundPullDelay.isNegative())
                throw new IllegalArgumentException("backgroundPullDelay must be >= 0, got " + backgroundPullDelay);
            if (localDataPath) {
                for (TargetDisk t : disks)
                    if (!localDataPathFits(t.format(), null, chunkSize))
                        throw new IllegalArgumentException("the local data path needs qcow2 targets and chunks of a multiple of "
                                + LOCAL_CLUSTER + " bytes, not " + t.format() + " with " + chunkSize + "-byte chunks");
            }
        }

        public Config(String migrationId, List<TargetDisk> disks, int chunkSize, int pullers, Path workDir, Duration timeout,
                      Duration backgroundPullDelay, io.vmmig.strategy.dedup.LocalChunkMatcher localChunks) {
            this(migrationId, disks, chunkSize, pullers, workDir, timeout, backgroundPullDelay, localChunks, false);
        }

        public Config(String migrationId, List<TargetDisk> disks, int chunkSize, int pullers, Path workDir, Duration timeout) {
            this(migrationId, disks, chunkSize, pullers, workDir, timeout, Duration.ZERO, null);
        }

        public Config(String migrationId, List<TargetDisk> disks, int chunkSize, int pullers, Path workDir, Duration timeout,
                      Duration backgroundPullDelay) {
            this(migrationId, disks, chunkSize, pullers, workDir, timeout, backgroundPullDelay, null);
        }

        /** One disk. */
        public Config(String migrationId, Path targetImage, String format, String diskNode, long diskSize,
                      int chunkSize, int pullers, Path workDir, Duration timeout, Duration backgroundPullDelay) {
            this(migrationId, List.of(new TargetDisk(targetImage, format, diskNode, diskSize)), chunkSize, pullers, workDir, timeout,
                    backgroundPullDelay, null);
        }

        /** This config answering the source's fingerprints from {@code m}. */
        public Config withLocalChunks(io.vmmig.strategy.dedup.LocalChunkMatcher m) {
            return new Config(migrationId, disks, chunkSize, pullers, workDir, timeout, backgroundPullDelay, m, localDataPath);
        }

        /**
         * This config with the guest's disk on the local images themselves ({@link ChunkTransferDestination class comment}):
         * each target must be a qcow2 image made by {@link #localImageOptions} (compat 0.10, no backing file).
         */
        public Config withLocalDataPath() {
            return new Config(migrationId, disks, chunkSize, pullers, workDir, timeout, backgroundPullDelay, localChunks, true);
        }

        public Config(String migrationId, Path targetImage, String format, String diskNode, long diskSize,
                      int chunkSize, int pullers, Path workDir, Duration timeout) {
            this(migrationId, List.of(new TargetDisk(targetImage, format, diskNode, diskSize)), chunkSize, pullers, workDir, timeout);
        }

        /** This config with the background pull starting {@code delay} after the hand-over. */
        public Config withBackgroundPullDelay(Duration delay) {
            return new Config(migrationId, disks, chunkSize, pullers, workDir, timeout, delay, localChunks, localDataPath);
        }

        /** Where each disk lives in the migration's address space (both agents compute it alike). */
        public DiskLayout layout() {
            return DiskLayout.of(disks.stream().map(TargetDisk::node).toList(), disks.stream().map(TargetDisk::size).toList(), chunkSize);
        }
    }

    /** qcow2 cluster size of the local data path's images: chunks are whole clusters, so a chunk's discard is exact. */
    public static final int LOCAL_CLUSTER = 64 * 1024;

    /** Whether a disk can take the local data path: a qcow2 target without a backing file, chunks of whole clusters. */
    public static boolean localDataPathFits(String format, String backingFile, int chunkSize) {
        return "qcow2".equals(format) && (backingFile == null || backingFile.isEmpty()) && chunkSize > 0
                && chunkSize % LOCAL_CLUSTER == 0;
    }

    /** {@code qemu-img create -o} options of a local data path image (see the class comment for compat 0.10). */
    public static String localImageOptions() {
        return "compat=0.10,cluster_size=" + LOCAL_CLUSTER;
    }

    /** Node names of disk {@code i} in the destination QEMU: {@code vmmig-local-file}, ... for disk 0, {@code vmmig-local-file-1}, ... after. */
    public static String localFile(int i) {
        return LOCAL_FILE + suffix(i);
    }

    public static String localFmt(int i) {
        return LOCAL_FMT + suffix(i);
    }

    public static String nbdNode(int i) {
        return "vmmig-nbd" + i;
    }

    private static String suffix(int i) {
        return i == 0 ? "" : "-" + i;
    }

    private static String agentExport(int i) {
        return AGENT_EXPORT + (i == 0 ? "" : Integer.toString(i));
    }

    private static String storeExport(String migrationId, int i) {
        return "vmmig-" + migrationId + "-store" + (i == 0 ? "" : Integer.toString(i));
    }

    /** Where the local data path's hand-over steps run (QMP calls block; not on the peer's or the store's threads). */
    private static final java.util.concurrent.Executor ATTACHER = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "vmmig-dest-attach");
        t.setDaemon(true);
        return t;
    });

    private final Config config;
    private final DiskLayout layout;
    private final MigrationTimeline timeline;
    private final DeferredBackend store;
    private final DestinationDiskTransfer transfer;
    private final NbdServer agentServer;
    private final Path agentSocket;
    private QmpClient qmp;
    private QemuNbdServer loopbackServer;
    private final List<QemuNbdServer.Export> loopbacks = new java.util.ArrayList<>();
    private final List<NbdClient> storeClients = new java.util.ArrayList<>();
    private boolean pivoted;
    private long pivotNanos;
    /** Local data path: the missing chunks are discarded and the backing nodes attached (the guest may run). */
    private final CompletableFuture<Void> backingAttached = new CompletableFuture<>();
    private volatile long attachMillis = -1;
    private volatile long guestHeldMillis = -1;
    /** The local data path's cont came while the incoming migration ran: QEMU starts the guest when it completes. */
    private volatile boolean autostarted;

    /** Starts serving the disks on the agent's socket and receiving from the source on {@code channel}. */
    public ChunkTransferDestination(Config config, PeerChannel channel, MigrationTimeline timeline) throws IOException {
        this(config, timeline, new DeferredBackend(config.layout().totalSize()), null, channel);
    }

    /** Where the pull's state is kept in the migration's directory ({@link io.vmmig.strategy.PullJournal}). */
    public static Path pullStateDir(Path workDir) {
        return workDir.resolve("pull");
    }

    /**
     * A restarted destination agent takes the pull back: the guest runs in the destination QEMU
     * ({@code qmp}) on a disk node pointing at the agent's NBD socket, which is served again at the
     * same path (QEMU's NBD client reconnects within its {@code reconnect-delay}); the store is the
     * QEMU's export of the local image, still up; the pull goes on from its journal. Empty if the
     * migration's directory has no pull state. The transfer has no connection to the source yet.
     */
    public static java.util.Optional<ChunkTransferDestination> restore(Config config, QmpClient qmp, MigrationTimeline timeline)
            throws IOException, NbdException {
        int sectors = config.chunkSize() / io.vmmig.strategy.destination.ChunkPuller.SECTOR;
        ChunkGeometry geometry = config.layout().geometry();
        int lastSectors = (geometry.lengthOf(geometry.count() - 1) + io.vmmig.strategy.destination.ChunkPuller.SECTOR - 1)
                / io.vmmig.strategy.destination.ChunkPuller.SECTOR;
        java.util.Optional<io.vmmig.strategy.PullQueue> q = io.vmmig.strategy.PullJournal.restore(pullStateDir(config.workDir()), sectors, lastSectors);
        if (q.isEmpty()) return java.util.Optional.empty();
        // which data path the guest's disk is on is QEMU's graph, not a guess: its node is qcow2 on the local one
        java.util.Map<String, io.vmmig.qmp.command.QmpResults.BlockDeviceInfo> nodes = new java.util.HashMap<>();
        for (var n : qmp.call(new io.vmmig.qmp.command.QmpCommands.QueryNamedBlockNodes(true))) nodes.put(n.nodeName(), n);
        var guestNode = nodes.get(config.disks().get(0).node());
        if (guestNode != null && "qcow2".equals(guestNode.drv()) && !config.localDataPath()) config = config.withLocalDataPath();
        boolean attached = guestNode != null && guestNode.backingFileDepth() > 0;
        ChunkTransferDestination d = new ChunkTransferDestination(config, timeline, new DeferredBackend(config.layout().totalSize()), q.get(), null);
        d.qmp = qmp;
        d.loopbackServer = QemuNbdServer.adopt(qmp, config.workDir().resolve("dest-qemu-nbd.sock"));
        for (int i = 0; i < config.disks().size(); i++) d.loopbacks.add(d.loopbackServer.existing(storeExport(config.migrationId(), i), d.storeNode(i)));
        d.connectStore();
        if (config.localDataPath() && !attached) {
            // the agent stopped between the hand-over and attaching the backing nodes: the guest never ran here (-S)
            d.attachBacking(q.get(), true);
            if ("paused".equals(qmp.call(new io.vmmig.qmp.command.QmpCommands.QueryStatus()).status()))
                qmp.call(new io.vmmig.qmp.command.QmpCommands.Cont());
        } else if (config.localDataPath()) {
            d.backingAttached.complete(null);
        }
        timeline.mark(MigrationEvent.RUNNING_AT_DESTINATION);
        return java.util.Optional.of(d);
    }

    private ChunkTransferDestination(Config config, MigrationTimeline timeline, DeferredBackend store,
                                     io.vmmig.strategy.PullQueue restored, PeerChannel channel) throws IOException {
        this.config = config;
        this.layout = config.layout();
        this.timeline = timeline;
        this.store = store;
        ChunkGeometry geometry = layout.geometry();
        this.transfer = restored != null
                ? DestinationDiskTransfer.restored(geometry, store, restored, config.pullers())
                : new DestinationDiskTransfer(geometry, store, channel, config.pullers(), config.backgroundPullDelay());
        if (restored == null) {
            transfer.disk().journalIn(pullStateDir(config.workDir()));
            transfer.puller().holdBackgroundUntilGuestRuns();   // a restored pull's guest already runs here
        }
        if (config.localChunks() != null) transfer.dedupFrom(config.localChunks());
        if (config.localDataPath()) {
            transfer.installByCopyOnRead(backingAttached);
            transfer.puller().skipWhen(this::writtenHere);
            if (restored == null)
                transfer.disk().handover().thenAcceptAsync(q -> attachBacking(q, false), ATTACHER)
                        .exceptionally(e -> {
                            backingAttached.completeExceptionally(e);
                            return null;
                        });
        }
        this.agentSocket = config.workDir().resolve("agent-nbd.sock");
        Files.deleteIfExists(agentSocket);
        List<NbdExport> exports = new java.util.ArrayList<>();
        for (int i = 0; i < layout.count(); i++)
            exports.add(new NbdExport(agentExport(i), "vmmig " + config.migrationId() + " " + layout.disk(i).name(),
                    DiskWindow.of(transfer.disk(), layout, i)));
        this.agentServer = NbdServer.start(UnixDomainSocketAddress.of(agentSocket), exports);
        transfer.start();
    }

    /**
     * The {@code -blockdev} arguments for the destination QEMU. The guest device must use
     * {@code drive=DISKNODE} with {@code share-rw=on} (the pivot needs it), and QEMU must start with
     * {@code -incoming defer}.
     */
    @Override
    public List<String> qemuBlockdevArgs() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        List<String> args = new java.util.ArrayList<>();
        if (config.localDataPath()) {
            for (int i = 0; i < config.disks().size(); i++) {
                TargetDisk t = config.disks().get(i);
                ObjectNode file = f.objectNode().put("driver", "file").put("filename", t.image().toString())
                        .put("node-name", localFile(i)).put("discard", "unmap");
                ObjectNode server = f.objectNode().put("type", "unix").put("path", agentSocket.toString());
                ObjectNode nbd = f.objectNode().put("driver", "nbd").put("export", agentExport(i)).put("node-name", nbdNode(i))
                        .put("read-only", true).put("reconnect-delay", RECONNECT_DELAY_SECONDS);
                nbd.set("server", server);
                args.addAll(List.of("-blockdev", file.toString(), "-blockdev", nbd.toString(),
                        "-blockdev", localDisk(i, null).toString()));
            }
            args.add("-S");   // the guest runs once the backing nodes are attached (startGuest)
            return args;
        }
        for (int i = 0; i < config.disks().size(); i++) {
            TargetDisk t = config.disks().get(i);
            ObjectNode file = f.objectNode().put("driver", "file").put("filename", t.image().toString())
                    .put("node-name", localFile(i));
            ObjectNode fmt = f.objectNode().put("driver", t.format()).put("file", localFile(i)).put("node-name", localFmt(i));
            ObjectNode server = f.objectNode().put("type", "unix").put("path", agentSocket.toString());
            ObjectNode nbd = f.objectNode().put("driver", "nbd").put("export", agentExport(i)).put("node-name", nbdNode(i))
                    .put("reconnect-delay", RECONNECT_DELAY_SECONDS);
            nbd.set("server", server);
            ObjectNode disk = f.objectNode().put("driver", "raw").put("file", nbdNode(i)).put("node-name", t.node());
            args.addAll(List.of("-blockdev", file.toString(), "-blockdev", fmt.toString(), "-blockdev", nbd.toString(),
                    "-blockdev", disk.toString()));
        }
        return args;
    }

    /** The destination QEMU is up (in -incoming): its writable export of the local image becomes the store. */
    @Override
    public void attach(QmpClient qmp) throws NbdException {
        this.qmp = qmp;
        loopbackServer = QemuNbdServer.start(qmp, config.workDir().resolve("dest-qemu-nbd.sock"));
        for (int i = 0; i < config.disks().size(); i++)
            loopbacks.add(config.localDataPath()
                    ? loopbackServer.exportWritableWithAllocationDepth(storeExport(config.migrationId(), i), storeNode(i))
                    : loopbackServer.exportWritable(storeExport(config.migrationId(), i), storeNode(i)));
        connectStore();
        if (config.localDataPath()) flushWhilePushing();
        timeline.mark(MigrationEvent.DESTINATION_READY);
    }

    /** While pushed bytes arrive, how often the local data path's image is flushed (see {@link #flushWhilePushing}). */
    static final Duration PUSH_FLUSH_EVERY = Duration.ofMillis(500);

    /**
     * Local data path: the pushed bytes are flushed to the image's file every {@link #PUSH_FLUSH_EVERY} until the
     * hand-over, so that the hand-over's {@code blockdev-reopen} (which flushes the node) and the guest's first
     * writes here (qcow2 flushes before new metadata) do not write back the whole push on the guest's pause.
     */
    private void flushWhilePushing() {
        CompletableFuture<io.vmmig.strategy.PullQueue> handedOver = transfer.disk().handover();
        CompletableFuture.delayedExecutor(PUSH_FLUSH_EVERY.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS, ATTACHER)
                .execute(() -> {
                    if (handedOver.isDone() || pivoted) return;
                    store.flush().whenComplete((v, e) -> {
                        if (e != null) LOG.debug("flushing the pushed bytes: {}", e.toString());
                        else flushWhilePushing();
                    });
                });
    }

    /** The node the agent writes pushed bytes through: the local format node, or on the local data path the guest's node. */
    private String storeNode(int i) {
        return config.localDataPath() ? config.disks().get(i).node() : localFmt(i);
    }

    /** Disk {@code i}'s qcow2 node on the local data path, with {@code backing} (a node name) or none. */
    private ObjectNode localDisk(int i, String backing) {
        ObjectNode n = JsonNodeFactory.instance.objectNode().put("driver", "qcow2").put("node-name", config.disks().get(i).node())
                .put("file", localFile(i)).put("discard", "unmap");
        if (backing == null) n.putNull("backing");
        else n.put("backing", backing);
        return n;
    }

    /**
     * The local data path's hand-over: every missing chunk that pushed bytes were stored into is discarded from the
     * image (those bytes are stale: the source rewrote the chunk since), then the agent's exports become the images'
     * backing nodes. A missing chunk never stored into is unallocated already. A restarted agent does not know which
     * chunks were stored into ({@code everyMissing}): it discards every missing one.
     */
    private void attachBacking(io.vmmig.strategy.PullQueue q, boolean everyMissing) {
        long t0 = System.nanoTime();
        List<CompletableFuture<Void>> trims = new java.util.ArrayList<>();
        ChunkGeometry g = layout.geometry();
        int n = g.count();
        java.util.BitSet stale = new java.util.BitSet();
        if (everyMissing) stale.set(0, n);
        else stale.or(transfer.disk().storedChunks());
        for (int c = 0; c < n; c++) if (q.isPresent(c)) stale.clear(c);
        for (int c = stale.nextSetBit(0); c >= 0; c = stale.nextSetBit(c + 1)) {
            int end = stale.nextClearBit(c) - 1;
            long from = g.offsetOf(c);
            trims.add(store.trim(from, g.offsetOf(end) + g.lengthOf(end) - from, false));
            c = end;
        }
        // no flush: the discards are in QEMU's qcow2 metadata, which the reopen and every later read go through
        CompletableFuture.allOf(trims.toArray(CompletableFuture[]::new)).join();
        List<ObjectNode> reopen = new java.util.ArrayList<>();
        for (int i = 0; i < config.disks().size(); i++) reopen.add(localDisk(i, nbdNode(i)));
        qmp.call(new BlockdevReopen(reopen));
        attachMillis = (System.nanoTime() - t0) / 1_000_000;
        LOG.info("migration {}: {} runs of missing chunks discarded, the agent's exports attached as backing nodes in {} ms",
                config.migrationId(), trims.size(), attachMillis);
        // The guest may run from here. While the incoming migration still runs, QEMU's cont only sets autostart: the
        // guest then starts the moment its memory is in, with no round trip to this agent on the paused path.
        // (cont also activates the block nodes: the disks' are active already, exported to this agent.)
        if ("inmigrate".equals(qmp.call(new io.vmmig.qmp.command.QmpCommands.QueryStatus()).status())) {
            qmp.call(new io.vmmig.qmp.command.QmpCommands.Cont());
            autostarted = true;
        }
        backingAttached.complete(null);
    }

    /**
     * The incoming migration completed: on the local data path the guest was held ({@code -S}) until the backing
     * nodes are attached. Mostly they were attached before and QEMU started the guest itself (autostart set by an
     * early {@code cont}); else it runs from here ({@code cont}). Nothing to do on the agent's data path.
     */
    @Override
    public void startGuest() throws Exception {
        if (!config.localDataPath()) return;
        long t0 = System.nanoTime();
        // no deadline: the guest is paused at both ends until the hand-over is applied, and only it may run it here
        while (true) {
            try {
                backingAttached.get(10, java.util.concurrent.TimeUnit.SECONDS);
                break;
            } catch (java.util.concurrent.TimeoutException e) {
                LOG.warn("migration {}: memory is here, the guest waits for the disk's hand-over from the source", config.migrationId());
            }
        }
        if (!autostarted || !qmp.call(new io.vmmig.qmp.command.QmpCommands.QueryStatus()).running())
            qmp.call(new io.vmmig.qmp.command.QmpCommands.Cont());
        guestHeldMillis = (System.nanoTime() - t0) / 1_000_000;
    }

    /**
     * Local data path: whether every cluster of {@code chunk} is in the image's own layer (qemu:allocation-depth 1 on
     * QEMU's export of the disk node). Missing chunks were discarded at the hand-over, so that is the guest's writes
     * here (whole clusters, or partial ones QEMU completed from the backing node): its pull can be skipped.
     */
    private boolean writtenHere(int chunk) {
        ChunkGeometry g = layout.geometry();
        long offset = g.offsetOf(chunk);
        DiskLayout.Disk d = layout.diskAt(offset);
        long from = offset - d.base();
        long end = Math.min(from + g.lengthOf(chunk), d.size());
        if (storeClients.size() <= d.index() || end <= from) return false;
        try {
            io.vmmig.nbd.client.BlockStatus st = NbdClient.await(storeClients.get(d.index()).blockStatus(from, end - from, false));
            List<io.vmmig.nbd.client.Extent> extents = st.extents(io.vmmig.nbd.protocol.NbdReplyType.META_ALLOCATION_DEPTH);
            long at = from;
            for (io.vmmig.nbd.client.Extent e : extents == null ? List.<io.vmmig.nbd.client.Extent>of() : extents) {
                if (e.offset() != at || e.flags() != 1) return false;
                at = e.end();
                if (at >= end) return true;
            }
            return false;
        } catch (NbdException | RuntimeException e) {
            return false;   // pull it: copy-on-read never overwrites what the guest wrote
        }
    }

    /** How long the local data path's hand-over (discards, backing nodes attached) took, ms; -1 if none. */
    public long attachMillis() {
        return attachMillis;
    }

    /** The QEMU's writable exports of the local images, one client each, as one store over the address space. */
    private void connectStore() throws NbdException {
        List<NbdExportBackend> disks = new java.util.ArrayList<>();
        for (QemuNbdServer.Export e : loopbacks) {
            NbdClientOptions o = NbdClientOptions.of(e.name()).withRequestTimeout(config.timeout());
            if (config.localDataPath()) o = o.withMetaContexts(io.vmmig.nbd.protocol.NbdReplyType.META_ALLOCATION_DEPTH);
            NbdClient c = NbdClient.connect(loopbackServer.socket(), o);
            storeClients.add(c);
            disks.add(new NbdExportBackend(c));
        }
        store.ready(new DiskSetBackend(layout, disks));
    }

    public DiskLayout layout() {
        return layout;
    }

    /** Bytes each disk still misses (in disk order): all of it before the hand-over, then what is left to pull. */
    public List<Long> missingPerDisk() {
        io.vmmig.strategy.PullQueue q = transfer.disk().handover().getNow(null);
        List<Long> out = new java.util.ArrayList<>();
        for (DiskLayout.Disk d : layout.disks()) {
            if (q == null) {
                out.add(d.size());
                continue;
            }
            long chunks = q.notPresentIn(layout.firstChunk(d.index()), layout.endChunk(d.index()));
            out.add(Math.min(d.size(), chunks * layout.chunkSize()));
        }
        return out;
    }

    /** Holds the background pull to {@code bytesPerSecond} (0: no limit); the guest's demands are pulled at once regardless. */
    public void limitBackgroundPull(long bytesPerSecond) {
        transfer.puller().limitBackground(bytesPerSecond);
    }

    public DestinationDiskTransfer transfer() {
        return transfer;
    }

    @Override
    public void guestRunsHere() {
        transfer.puller().guestRunsHere();
    }

    /** Completes when every chunk is in the local image. */
    @Override
    public CompletableFuture<Void> complete() {
        return transfer.complete();
    }

    /**
     * Switches the guest's disk node from the agent's NBD export to the local image without pausing
     * the guest ({@code blockdev-reopen} of the raw node's file child, as measured on QEMU 7.2), then
     * deletes the NBD client node. The agent's server stays up until the reopen returned: the reopen
     * flushes the old child.
     */
    @Override
    public void finish() {
        pivot();
    }

    @Override
    public DestinationReport report() {
        var stats = transfer.pullStats();
        OnDemandLatency latency = transfer.onDemandLatency();
        GuestWriteStats.Snapshot writes = transfer.disk().writeStats();
        return new DestinationReport(transfer.pushedBytes(), transfer.pulledBytes(),
                stats == null ? 0 : stats.pulledOnDemand(), stats == null ? 0 : stats.pulledBackground(),
                (stats == null ? 0 : stats.cancelledByWrite()) + transfer.puller().skippedWrittenHere(), pivotNanos / 1_000_000,
                latency.count(), latency.medianMicros(), latency.maxMicros(),
                writes.waited(), writes.totalWaitMicros(), writes.takenAtOnce(),
                transfer.resumes(), transfer.source().resentPulls(), transfer.puller().refetchedChunks(),
                transfer.dedupBytes(), transfer.dedupRejected(), config.localDataPath(), transfer.disk().readBytes(), attachMillis,
                guestHeldMillis);
    }

    public void pivot() {
        if (pivoted) return;
        long t0 = System.nanoTime();
        if (!transfer.complete().isDone() || transfer.complete().isCompletedExceptionally())
            throw new IllegalStateException("pivot before the disk is complete");
        List<ObjectNode> reopen = new java.util.ArrayList<>();
        for (int i = 0; i < config.disks().size(); i++)
            reopen.add(config.localDataPath() ? localDisk(i, null)
                    : JsonNodeFactory.instance.objectNode().put("driver", "raw").put("node-name", config.disks().get(i).node())
                    .put("file", localFmt(i)));
        qmp.call(new BlockdevReopen(reopen));   // every disk in one reopen: all local, or none
        for (int i = 0; i < config.disks().size(); i++) qmp.call(new BlockdevDel(nbdNode(i)));
        pivoted = true;
        pivotNanos = System.nanoTime() - t0;
        timeline.mark(MigrationEvent.PIVOTED);
        LOG.info("migration {}: destination disks now local ({})", config.migrationId(), config.disks().stream().map(TargetDisk::image).toList());
        releaseAgentPath();
    }

    private void releaseAgentPath() {
        List<Runnable> steps = new java.util.ArrayList<>();
        for (NbdClient c : storeClients) steps.add(c::close);
        for (QemuNbdServer.Export e : loopbacks) steps.add(() -> e.delete(config.timeout()));
        steps.add(() -> { if (loopbackServer != null) loopbackServer.close(); });
        steps.add(agentServer::close);
        steps.add(transfer::close);
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                LOG.warn("releasing destination resources of {}: {}", config.migrationId(), e.toString());
            }
        }
    }

    @Override
    public void close() {
        releaseAgentPath();
    }
}
