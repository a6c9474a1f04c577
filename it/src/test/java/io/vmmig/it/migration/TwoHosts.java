package io.vmmig.it.migration;

import io.vmmig.lab.demo.LocalPair;
import io.vmmig.qmp.QmpClient;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.peer.SocketPeerChannel;
import io.vmmig.strategy.qemu.ChunkTransferDestination;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.DestinationMigration;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.strategy.qemu.DestinationStrategy;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.qemu.SourceMigration;
import io.vmmig.strategy.qemu.SourceStrategy;
import io.vmmig.strategy.source.SourceOptions;
import io.vmmig.testkit.ConsoleLine;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.Heartbeats;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * Two "hosts" on one machine for migration tests: a source QEMU running the test guest with its
 * workload on a local disk, and on {@link #migrate} a destination QEMU started the way a
 * destination agent would start it, both sides' drivers run, and the combined report returned.
 */
public final class TwoHosts implements AutoCloseable {
    public static final Duration TIMEOUT = Duration.ofSeconds(120);
    static final String DISK_NODE = "disk0";

    private final Path dir;
    private final TestGuest guest;
    private final Workload workload;
    private final DiskImage srcDisk;
    private final QemuProcess src;
    private final QmpClient srcQmp;
    private QemuProcess dst;
    private QmpClient dstQmp;
    private final List<AutoCloseable> cleanup = new ArrayList<>();
    private final CompletableFuture<QemuProcess> destinationStarted = new CompletableFuture<>();
    private volatile LocalPair pair;
    private volatile ChunkTransferSource chunkSource;
    private volatile ChunkTransferDestination chunkDestination;
    private volatile Function<Path, DiskImage> destinationImages;

    private TwoHosts(Path dir, TestGuest guest, Workload workload, DiskImage srcDisk, QemuProcess src, QmpClient srcQmp) {
        this.dir = dir;
        this.guest = guest;
        this.workload = workload;
        this.srcDisk = srcDisk;
        this.src = src;
        this.srcQmp = srcQmp;
    }

    /** Boots the source guest on a fresh qcow2 of {@code diskBytes} and waits until its prefill is done. */
    public static TwoHosts start(Path dir, Workload w, long diskBytes) {
        return start(dir, w, DiskImage.create(dir.resolve("src.qcow2"), DiskImage.Format.QCOW2, diskBytes));
    }

    /**
     * Boots the source guest on {@code disk} (e.g. an overlay over a base image) and waits until its
     * prefill is done. The disk must be qcow2 (node {@code disk0}).
     */
    public static TwoHosts start(Path dir, Workload w, DiskImage disk) {
        TestGuest guest = TestGuest.get();
        QemuProcess src = QemuProcess.builder().name("src").memoryMb(256).guest(guest, w).disk(disk).start();
        try {
            src.console().awaitLine(Pattern.compile("^PREFILL DONE"), Duration.ofSeconds(180));
            return new TwoHosts(dir, guest, w, disk, src, QmpClient.connect(src.qmpSocket()));
        } catch (RuntimeException e) {
            src.close();
            throw e;
        }
    }

    public QemuProcess source() { return src; }
    public QemuProcess destination() { return dst; }
    public QmpClient sourceQmp() { return srcQmp; }
    public QmpClient destinationQmp() { return dstQmp; }
    public DiskImage sourceDisk() { return srcDisk; }

    /**
     * How {@link #migrate} creates the destination's target image at a given path (default: a fresh
     * qcow2 of the source disk's size), e.g. an overlay over the same base image as the source's.
     */
    public void destinationImages(Function<Path, DiskImage> factory) {
        this.destinationImages = factory;
    }

    /** Completes with the destination QEMU of the first migration once it is up (in -incoming). */
    public CompletableFuture<QemuProcess> destinationStarted() { return destinationStarted; }

    /** The source side of the running (or last) chunk-transfer migration, null before {@link #migrate}. */
    public ChunkTransferSource chunkSource() { return chunkSource; }

    /** The destination side of the running (or last) chunk-transfer migration, null before {@link #migrate}. */
    public ChunkTransferDestination chunkDestination() { return chunkDestination; }

    /**
     * Asks the running migration's source driver to cancel (honoured before the switchover; the
     * running {@link #migrate}/{@link #run} then throws {@link SourceMigration.CancelledException}).
     */
    public void cancel(String reason) {
        LocalPair p = pair;
        if (p == null) throw new IllegalStateException("no migration is running to cancel");
        p.cancel(reason);
    }

    /** Default source options for tests: 256 KiB chunks are set in {@link #migrate}. */
    public static SourceOptions defaultPush() {
        return SourceOptions.defaults();
    }

    /**
     * Migrates with a chunk-transfer strategy (hybrid, precopy, postcopy) and returns the combined report.
     * {@code beforeMemory} runs once the source side started and before {@code migrate} is issued.
     */
    public MigrationReport migrate(Strategy strategy, int chunkSize, SourceOptions push,
                                   ChunkTransferSource.PrecopyLimits limits, Runnable beforeMemory) throws Exception {
        return migrate(strategy, chunkSize, push, limits, UnaryOperator.identity(), beforeMemory);
    }

    /**
     * Like {@link #migrate(Strategy, int, SourceOptions, ChunkTransferSource.PrecopyLimits, Runnable)},
     * with the destination's config adjusted by {@code destinationKnobs} (e.g. a background pull delay).
     */
    public MigrationReport migrate(Strategy strategy, int chunkSize, SourceOptions push,
                                   ChunkTransferSource.PrecopyLimits limits,
                                   UnaryOperator<ChunkTransferDestination.Config> destinationKnobs,
                                   Runnable beforeMemory) throws Exception {
        String id = strategy.cliName() + "-" + Long.toHexString(System.nanoTime());
        Path target = dir.resolve("dst-" + id + ".qcow2");
        DiskImage dstDisk = destinationImages != null ? destinationImages.apply(target)
                : DiskImage.create(target, DiskImage.Format.QCOW2, srcDisk.sizeBytes());
        MigrationTimeline srcTimeline = new MigrationTimeline();
        MigrationTimeline dstTimeline = new MigrationTimeline();
        SocketPeerChannel toDest;
        SocketPeerChannel fromSource;
        try (ServerSocketChannel listener = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            toDest = SocketPeerChannel.connect(listener.getLocalAddress());
            fromSource = new SocketPeerChannel(listener.accept());
        }
        ChunkTransferDestination destination = new ChunkTransferDestination(destinationKnobs.apply(
                new ChunkTransferDestination.Config(id, dstDisk.path(), dstDisk.format().qemuName(), DISK_NODE, srcDisk.sizeBytes(),
                        chunkSize, 2, dir, TIMEOUT)), fromSource, dstTimeline);
        cleanup.add(destination);
        chunkDestination = destination;
        ChunkTransferSource source = new ChunkTransferSource(srcQmp, new ChunkTransferSource.Config(strategy, id, DISK_NODE,
                chunkSize, push, Duration.ofMillis(300), dir, TIMEOUT, limits), toDest, srcTimeline);
        cleanup.add(source);
        chunkSource = source;
        return run(id, strategy, source, destination, srcTimeline, dstTimeline, beforeMemory);
    }

    /**
     * Runs any strategy pair: starts the destination QEMU with the destination strategy's blockdev
     * arguments, both drivers, and returns the combined report. On failure the destination QEMU is
     * killed (a failed or cancelled migration leaves the guest only at the source), and the source
     * side's failure is thrown if it has one (e.g. {@link SourceMigration.CancelledException}),
     * since the destination's is usually only its consequence.
     */
    public MigrationReport run(String id, Strategy strategy, SourceStrategy source, DestinationStrategy destination,
                               MigrationTimeline srcTimeline, MigrationTimeline dstTimeline, Runnable beforeMemory)
            throws Exception {
        String memory = "unix:" + dir.resolve("mig-" + id + ".sock");
        return run(id, strategy, source, destination, srcTimeline, dstTimeline, memory, beforeMemory);
    }

    /**
     * Like {@link #run(String, Strategy, SourceStrategy, DestinationStrategy, MigrationTimeline, MigrationTimeline, Runnable)}
     * with vmmig issuing {@code migrate} to {@code migrateUri}; null when the test issues it itself (in
     * {@code beforeMemory}, to the destination's {@link #incomingUri(String)}), as another party would.
     */
    public MigrationReport run(String id, Strategy strategy, SourceStrategy source, DestinationStrategy destination,
                               MigrationTimeline srcTimeline, MigrationTimeline dstTimeline, String migrateUri,
                               Runnable beforeMemory) throws Exception {
        LocalPair pair = new LocalPair(id, srcQmp, source, destination,
                new SourceMigration.Options(id, strategy, migrateUri, TIMEOUT), incomingUri(id), srcTimeline, dstTimeline);
        this.pair = pair;
        MigrationReport report = pair.run(blockdevArgs -> {
            List<String> args = new ArrayList<>(blockdevArgs);
            args.addAll(List.of("-device", "virtio-blk-pci,drive=" + DISK_NODE + ",id=vda,share-rw=on"));
            dst = QemuProcess.builder().name("dst").memoryMb(256).guest(guest, workload).extraArgs(args)
                    .incomingDefer(true).start();
            destinationStarted.complete(dst);
            dstQmp = QmpClient.connect(dst.qmpSocket());
            return dstQmp;
        }, beforeMemory, this::killDestination);
        return report.withGuestGap(guestGap());
    }

    /** The longest heartbeat gap where the guest's console moved from the source to the destination, in ms (-1: none seen). */
    public long guestGap() {
        if (dst == null) return -1;
        // The guest speaks on the destination's console from its first heartbeat after the switchover.
        dst.console().awaitLine(java.util.regex.Pattern.compile("^HB "), Duration.ofSeconds(30));
        return Heartbeats.of(src.console().lines(), dst.console().lines()).consoleChanges().stream()
                .mapToLong(g -> g.host().toMillis()).max().orElse(-1);
    }

    /** Where the destination QEMU of migration {@code id} listens for memory. */
    public String incomingUri(String id) {
        return "unix:" + dir.resolve("mig-" + id + ".sock");
    }

    private void killDestination() {
        if (dst != null && dst.isAlive()) {
            dst.kill();
            dst.awaitExit(Duration.ofSeconds(10));
        }
    }

    /** Sends {@code verify} to the guest where it runs now and returns its VERIFY line. */
    public String verify(QemuProcess where) {
        int mark = where.console().lineCount();
        where.console().send("verify");
        ConsoleLine v = where.console().awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), TIMEOUT, mark);
        return v.text();
    }

    @Override
    public void close() {
        for (AutoCloseable c : cleanup) {
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        if (dstQmp != null) dstQmp.close();
        srcQmp.close();
        if (dst != null) dst.close();
        src.close();
    }
}
