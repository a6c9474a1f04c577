package io.vmmig.strategy.qemu;

import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.client.NbdClientOptions;
import io.vmmig.nbd.protocol.NbdException;
import io.vmmig.nbd.protocol.NbdReplyType;
import io.vmmig.nbd.qemu.ByteRange;
import io.vmmig.nbd.qemu.DirtyBitmapRotation;
import io.vmmig.nbd.qemu.ExtentScan;
import io.vmmig.nbd.qemu.QemuNbdServer;
import io.vmmig.qmp.QmpClient;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.DiskLayout;
import io.vmmig.strategy.DiskSetBackend;
import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.source.SourceDiskTransfer;
import io.vmmig.strategy.source.SourceOptions;
import io.vmmig.strategy.source.TransferCounters;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source side of the chunk-transfer strategies (hybrid, pre-copy, post-copy) for the disks of a
 * running QEMU, all in one transfer over one {@link DiskLayout} (one push, one link budget, one
 * hand-over): exports each disk from QEMU's own NBD server, records dirty epochs with rotating
 * bitmaps, pushes through a {@link SourceDiskTransfer}, hands over at the {@link Cutover} pause
 * (pre-copy: sends its last round there instead), serves pulls, and releases everything it added to
 * QEMU when done or cancelled.
 */
public final class ChunkTransferSource implements SourceStrategy {
    private static final Logger LOG = LoggerFactory.getLogger(ChunkTransferSource.class);

    /**
     * @param migrationId   names vmmig's bitmaps and exports in QEMU ({@code vmmig-ID-...})
     * @param nodes         the disks' format nodes (qcow2 or raw) in the source QEMU, in the migration's
     *                      disk order ({@link DiskLayout}); one node for a one-disk VM
     * @param chunkSize     transfer unit; also the dirty bitmap granularity
     * @param epochInterval time between bitmap rotations while pushing
     * @param workDir       where the source QEMU's NBD socket goes
     * @param precopy       pre-copy's convergence rule (ignored by the other strategies)
     */
    public record Config(Strategy strategy, String migrationId, List<String> nodes, int chunkSize, SourceOptions push,
                         Duration epochInterval, Path workDir, Duration timeout, PrecopyLimits precopy) {
        public Config {
            nodes = List.copyOf(nodes);
            if (nodes.isEmpty()) throw new IllegalArgumentException("no disk node");
            if (strategy == Strategy.MIRROR) throw new IllegalArgumentException("mirror is not a chunk-transfer strategy");
            if (strategy == Strategy.PRECOPY) push = push.withThreshold(Integer.MAX_VALUE).withPush(true);
            if (strategy == Strategy.POSTCOPY) push = push.withPush(false);
            if (strategy == Strategy.HYBRID) push = push.withPush(true);
        }
    }

    /**
     * Pre-copy iterates until a round leaves at most {@code convergedBytes} dirty, or for at most
     * {@code maxRounds} rounds (then it says so in its report and lets memory migration start anyway).
     */
    public record PrecopyLimits(int maxRounds, long convergedBytes) {
        public static PrecopyLimits defaults() {
            return new PrecopyLimits(10, 8L << 20);
        }
    }

    private final QmpClient qmp;
    private final Config config;
    /** The push's limit, made here so that a {@link LinkGovernor} can hold it before the push starts. */
    private final io.vmmig.strategy.source.PushBandwidth pushBucket;
    private final PeerChannel channel;
    private final MigrationTimeline timeline;
    private QemuNbdServer server;
    private final List<DirtyBitmapRotation> rotations = new java.util.ArrayList<>();
    /** Epochs read while the guest is paused, whose exports and bitmaps are removed after the pause. */
    private final List<DirtyBitmapRotation.FrozenEpoch> heldEpochs = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<QemuNbdServer.Export> dataExports = new java.util.ArrayList<>();
    private final List<NbdClient> data = new java.util.ArrayList<>();
    private DiskLayout layout;
    private volatile SourceDiskTransfer transfer;
    private ChunkGeometry geometry;
    private Thread epochs;
    private volatile boolean stopEpochs;
    private volatile Throwable epochFailure;
    private boolean released;
    private final CompletableFuture<Void> readyForMemory = new CompletableFuture<>();
    private volatile int rounds;
    private volatile boolean iterationLimitHit;
    private volatile long pauseNanos;
    private volatile int[] remainingPerDisk;

    public ChunkTransferSource(QmpClient qmp, Config config, PeerChannel channel, MigrationTimeline timeline) {
        this.pushBucket = new io.vmmig.strategy.source.PushBandwidth(config.push().pushBytesPerSecond());
        this.qmp = qmp;
        this.config = config;
        this.channel = channel;
        this.timeline = timeline;
    }

    /** Exports the disk, starts recording writes, reads what the top layer holds, starts pushing. */
    @Override
    public void start() throws NbdException {
        String prefix = "vmmig-" + config.migrationId();
        try {
            server = QemuNbdServer.start(qmp, config.workDir().resolve("source-nbd.sock"));
            List<NbdExportBackend> disks = new java.util.ArrayList<>();
            List<Long> sizes = new java.util.ArrayList<>();
            for (int i = 0; i < config.nodes().size(); i++) {
                String node = config.nodes().get(i);
                // Record writes before reading the allocation, so nothing written in between is missed.
                // each disk's bitmaps and epoch exports under a name of its own (export ids are the QEMU's, not the node's):
                // disk 0 vmmig-ID-e<n>/-ep<n> as before, disk i vmmig-ID-d<i>-e<n>/-ep<n>
                rotations.add(new DirtyBitmapRotation(server, node, i == 0 ? prefix : prefix + "-d" + i, config.chunkSize(),
                        config.timeout()));
                QemuNbdServer.Export export = server.exportWithAllocationDepth(exportName(config.migrationId(), i), node);
                dataExports.add(export);
                NbdClient client = NbdClient.connect(server.socket(), NbdClientOptions.of(export.name())
                        .withMetaContexts(NbdReplyType.META_ALLOCATION_DEPTH).withRequestTimeout(config.timeout()));
                data.add(client);
                disks.add(new NbdExportBackend(client));
                sizes.add(client.export().size());
            }
            layout = DiskLayout.of(config.nodes(), sizes, config.chunkSize());
            geometry = layout.geometry();
            BitSet allocated = new BitSet();
            for (int i = 0; i < data.size(); i++) {
                long base = layout.disk(i).base();
                // allocation-depth 1: the data is in this (top) layer; 0 absent, 2+ in a backing file.
                for (ByteRange r : ExtentScan.ranges(data.get(i), NbdReplyType.META_ALLOCATION_DEPTH, depth -> depth == 1)) {
                    geometry.markTouched(base + r.offset(), r.length(), allocated);
                }
            }
            transfer = new SourceDiskTransfer(geometry, new DiskSetBackend(layout, disks), allocated, channel, config.push(), pushBucket);
            int[] firsts = new int[layout.count()];
            for (int i = 0; i < firsts.length; i++) firsts[i] = layout.firstChunk(i);
            transfer.countPerDisk(firsts);
            timeline.mark(MigrationEvent.PUSH_STARTED);
            transfer.start();
            if (config.strategy() != Strategy.PRECOPY) readyForMemory.complete(null);
            epochs = new Thread(config.strategy() == Strategy.PRECOPY ? this::precopyRounds : this::epochLoop,
                    "vmmig-epochs-" + config.migrationId());
            epochs.setDaemon(true);
            epochs.start();
        } catch (RuntimeException | NbdException e) {
            release();
            throw e;
        }
    }

    public ChunkGeometry geometry() {
        return geometry;
    }

    /** Where each disk lives in the migration's address space (null before {@link #start}). */
    public DiskLayout layout() {
        return layout;
    }

    /** The name of disk {@code index}'s read-only export on the source QEMU's NBD server ({@code vmmig-ID-data}, then {@code -data1}, ...). */
    public static String exportName(String migrationId, int index) {
        return "vmmig-" + migrationId + "-data" + (index == 0 ? "" : Integer.toString(index));
    }

    /** The UNIX socket of the source QEMU's NBD server vmmig started (it stays while QEMU runs, agent or not). */
    public Path exportSocket() {
        return server == null ? null : server.socket();
    }

    /** The names of the read-only exports of the disks on it (what the pull reads), in disk order. */
    public List<String> exportNames() {
        return dataExports.stream().map(QemuNbdServer.Export::name).toList();
    }

    public SourceDiskTransfer transfer() {
        return transfer;
    }

    @Override
    public PushLink pushLink() {
        return new PushLink(pushBucket, () -> {
            SourceDiskTransfer t = transfer;
            return t == null ? 0 : t.counters().pushedWireBytes.get();
        });
    }

    /** Hybrid's push (post-copy pushes nothing; pre-copy's held rounds would only move into its paused final round). */
    @Override
    public PushYield pushYield() {
        if (config.strategy() != Strategy.HYBRID) return null;
        return new PushYield() {
            @Override
            public long inFlightBytes() {
                SourceDiskTransfer t = transfer;
                return t == null ? 0 : t.inFlightBytes();
            }

            @Override
            public void holdUntil(long nanoTime) {
                SourceDiskTransfer t = transfer;
                if (t != null) t.holdPushUntil(nanoTime);
            }
        };
    }

    private void epochLoop() {
        try {
            while (!stopEpochs) {
                List<DirtyBitmapRotation.FrozenEpoch> e;
                synchronized (this) {
                    wait(config.epochInterval().toMillis());
                    if (stopEpochs) return;
                    e = holdAll();
                    transfer.onEpoch(chunksOf(e));
                    rounds++;
                    if (stopEpochs) {
                        // the pause came while this epoch was read: its removal waits until the guest runs again
                        heldEpochs.addAll(e);
                        return;
                    }
                }
                e.forEach(DirtyBitmapRotation.FrozenEpoch::close);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            epochFailure = e;
            LOG.warn("dirty epoch rotation failed for {}: {}", config.migrationId(), e.toString());
        }
    }

    /**
     * Pre-copy: each round sends everything dirty, then one rotation gives the next round's set,
     * until it is small enough or the round limit is reached; rounds go on (bounded by the same
     * rule) until the pause.
     */
    private void precopyRounds() {
        PrecopyLimits limits = config.precopy();
        try {
            while (!stopEpochs) {
                synchronized (this) {
                    long deadline = System.nanoTime() + config.timeout().toNanos();
                    while (!transfer.caughtUp() && !stopEpochs) {
                        if (transfer.finished().isCompletedExceptionally()) transfer.finished().join();   // throws why
                        if (System.nanoTime() > deadline) throw new IllegalStateException("pre-copy round stalled");
                        wait(10);
                    }
                    if (stopEpochs) return;
                    BitSet dirty = rotateAll();
                    rounds++;
                    long dirtyBytes = (long) dirty.cardinality() * config.chunkSize();
                    transfer.onEpoch(dirty);
                    if (!readyForMemory.isDone()) {
                        if (dirtyBytes <= limits.convergedBytes()) {
                            LOG.info("pre-copy {}: converged after {} rounds ({} bytes dirty)", config.migrationId(), rounds, dirtyBytes);
                            readyForMemory.complete(null);
                        } else if (rounds >= limits.maxRounds()) {
                            iterationLimitHit = true;
                            LOG.warn("pre-copy {}: iteration limit of {} rounds hit with {} bytes still dirty per round",
                                    config.migrationId(), limits.maxRounds(), dirtyBytes);
                            readyForMemory.complete(null);
                        }
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            epochFailure = e;
            readyForMemory.completeExceptionally(e);
            LOG.warn("pre-copy round failed for {}: {}", config.migrationId(), e.toString());
        }
    }

    @Override
    public CompletableFuture<Void> readyForMemory() {
        return readyForMemory;
    }

    @Override
    public void atPause() throws Exception {
        long t0 = System.nanoTime();
        try {
            if (config.strategy() == Strategy.PRECOPY) finalRound();
            else handOver();
        } finally {
            pauseNanos = System.nanoTime() - t0;
        }
    }

    private void stopEpochLoop() throws InterruptedException {
        stopEpochs = true;
        synchronized (this) {
            notifyAll();    // the epoch loop finishes the rotation it is in, if any, then stops
        }
        epochs.join(config.timeout().toMillis());
        if (epochFailure != null) throw new IllegalStateException("dirty tracking failed: " + epochFailure, epochFailure);
    }

    /** Pre-copy's last round while paused: everything still dirty crosses now. */
    private void finalRound() throws Exception {
        timeline.mark(MigrationEvent.PAUSED);
        stopEpochLoop();
        List<DirtyBitmapRotation.FrozenEpoch> last = holdAll();
        heldEpochs.addAll(last);   // removed after migrate-continue
        long sent = transfer.finalRound(chunksOf(last), config.timeout());
        remainingPerDisk = new int[layout.count()];   // pre-copy hands over nothing: every disk crossed whole
        rounds++;
        timeline.mark(MigrationEvent.FINAL_ROUND_SENT);
        LOG.info("pre-copy {}: final round sent {} bytes while paused", config.migrationId(), sent);
    }

    @Override
    public SourceReport report() {
        if (transfer == null) return new SourceReport(0, 0, 0, 0, 0, 0, 0, 0, 0, false, 0);
        TransferCounters c = transfer.counters();
        return new SourceReport(c.pushedBytes.get(), c.pushedWireBytes.get(), c.pushedChunks.get(), rounds,
                c.zeroSkippedBytes.get(), c.unallocatedBytes.get(), c.pulledBytes.get(), c.remainingAtCutover.get(),
                pauseNanos / 1_000_000, iterationLimitHit, 0,
                new SourceReport.Compression(config.push().compression().label(), c.pulledWireBytes.get(),
                        c.compressedChunks.get(), c.incompressibleChunks.get(), c.compressMillis.get(),
                        c.compressionWindows.get(), c.compressionWindowsOn.get(), c.compressionSwitches.get()),
                c.dedupBytes.get(), c.fingerprintedChunks.get(), c.fingerprintWireBytes.get(), diskFigures());
    }

    /** Each disk apart when there is more than one (one disk: the totals say it all). */
    private List<SourceReport.DiskFigures> diskFigures() {
        if (layout == null || layout.count() < 2) return List.of();
        long[] pushed = transfer.pushedPerDisk();
        int[] remaining = remainingPerDisk;
        List<SourceReport.DiskFigures> out = new java.util.ArrayList<>();
        for (DiskLayout.Disk d : layout.disks()) {
            long handed = remaining == null ? -1 : Math.min(d.size(), (long) remaining[d.index()] * config.chunkSize());
            out.add(new SourceReport.DiskFigures(d.name(), d.size(), pushed[d.index()], handed));
        }
        return out;
    }

    /** Ends every disk's dirty epoch and keeps its frozen bitmap and export until closed (one per disk, in disk order). */
    private List<DirtyBitmapRotation.FrozenEpoch> holdAll() throws NbdException {
        List<DirtyBitmapRotation.FrozenEpoch> out = new java.util.ArrayList<>();
        try {
            for (DirtyBitmapRotation r : rotations) out.add(r.rotateAndHold());
        } catch (NbdException | RuntimeException e) {
            out.forEach(DirtyBitmapRotation.FrozenEpoch::close);
            throw e;
        }
        return out;
    }

    /** The chunks written in these epochs (disk i's epoch at index i), in the migration's address space. */
    private BitSet chunksOf(List<DirtyBitmapRotation.FrozenEpoch> epochs) {
        BitSet dirty = new BitSet();
        for (int i = 0; i < epochs.size(); i++) {
            long base = layout.disk(i).base();
            for (ByteRange r : epochs.get(i).ranges()) geometry.markTouched(base + r.offset(), r.length(), dirty);
        }
        return dirty;
    }

    /**
     * Ends the dirty epoch of every disk (each disk's bitmap rotates in its own transaction, one disk
     * after the other): the chunks written in it, in the migration's address space. At the pause the
     * guest is stopped, so the last rotation of every disk together is exact.
     */
    private BitSet rotateAll() throws NbdException {
        BitSet dirty = new BitSet();
        for (int i = 0; i < rotations.size(); i++) {
            long base = layout.disk(i).base();
            for (ByteRange r : rotations.get(i).rotate()) geometry.markTouched(base + r.offset(), r.length(), dirty);
        }
        return dirty;
    }

    /**
     * The hand-over, run while the source guest is paused before switchover: last epoch, remaining
     * set to the destination. Throws if the transfer can't be handed over (the caller cancels the
     * memory migration then).
     */
    public RemainingSet handOver() throws Exception {
        timeline.mark(MigrationEvent.PAUSED);
        long t0 = System.nanoTime();
        transfer.stopPushingSoon();   // the pusher winds down while the last epoch is read
        stopEpochLoop();
        long t1 = System.nanoTime();
        List<DirtyBitmapRotation.FrozenEpoch> last = holdAll();
        heldEpochs.addAll(last);   // their exports and bitmaps go after migrate-continue (afterPause), or with release()
        long t2 = System.nanoTime();
        RemainingSet rs = transfer.cutover(chunksOf(last), config.timeout());
        remainingPerDisk = layout.countPerDisk(rs.chunks());
        timeline.mark(MigrationEvent.REMAINING_SENT);
        long t3 = System.nanoTime();
        LOG.info("migration {}: handed over {} remaining chunks in {} ms (epoch loop stopped {} ms, final epoch read {} ms,"
                        + " push stopped and remaining set sent {} ms)", config.migrationId(), rs.size(), (t3 - t0) / 1_000_000,
                (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, (t3 - t2) / 1_000_000);
        return rs;
    }

    @Override
    public void afterPause() {
        removeFinalEpoch();
    }

    private void removeFinalEpoch() {
        for (DirtyBitmapRotation.FrozenEpoch e : heldEpochs) {
            try {
                e.close();
            } catch (RuntimeException ex) {
                LOG.warn("migration {}: removing an epoch's export and bitmap after the pause: {}", config.migrationId(), ex.toString());
            }
            heldEpochs.remove(e);
        }
    }

    /** Completes when the destination has every chunk. */
    @Override
    public CompletableFuture<Void> finished() {
        return transfer.finished();
    }

    public TransferCounters counters() {
        return transfer.counters();
    }

    /**
     * Removes every export, bitmap and server vmmig added to the source QEMU. Safe to call more than
     * once and after a failed start; each step is tried even if an earlier one failed.
     */
    @Override
    public synchronized void release() {
        if (released) return;
        released = true;
        stopEpochs = true;
        notifyAll();
        if (transfer != null) transfer.close();
        for (NbdClient c : data) c.close();
        List<Runnable> steps = new java.util.ArrayList<>();
        for (QemuNbdServer.Export e : dataExports) steps.add(() -> e.delete(config.timeout()));
        steps.add(this::removeFinalEpoch);
        for (DirtyBitmapRotation r : rotations) steps.add(r::close);
        steps.add(() -> { if (server != null) server.close(); });
        for (Runnable step : steps) {
            try {
                step.run();
            } catch (RuntimeException e) {
                LOG.warn("releasing source resources of {}: {}", config.migrationId(), e.toString());
            }
        }
    }

    /** Cancels before cutover: the guest keeps running here, vmmig's traces are removed. */
    @Override
    public void cancel(String reason) {
        if (transfer != null) transfer.cancel(reason);
        release();
    }

    @Override
    public void close() {
        release();
    }
}
