package io.vmmig.it.migration;

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
    private volatile SourceMigration sourceDriver;
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
        SourceMigration d = sourceDriver;
        if (d == null) throw new IllegalStateException("no migration is running to cancel");
        d.cancel(reason);
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
                new ChunkTransferDestination.Config(id, dstDisk.path(), "qcow2", DISK_NODE, srcDisk.sizeBytes(),
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
        String migSocket = dir.resolve("mig-" + id + ".sock").toString();
        SourceMigration driver = new SourceMigration(srcQmp, source,
                new SourceMigration.Options(id, strategy, "unix:" + migSocket, TIMEOUT), srcTimeline);
        sourceDriver = driver;
        // The source side serves from the start: the destination QEMU reads sector 0 through the
        // destination agent as soon as its disk node exists, and that read may go to the source.
        CompletableFuture<MigrationReport> sourceRun = new CompletableFuture<>();
        CompletableFuture<Void> destinationUp = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                sourceRun.complete(driver.runAfter(destinationUp, beforeMemory));
            } catch (Throwable e) {
                sourceRun.completeExceptionally(e);
            }
        }, "source-driver-" + id);
        t.setDaemon(true);
        t.start();
        try {
            List<String> args = new ArrayList<>(destination.qemuBlockdevArgs());
            args.addAll(List.of("-device", "virtio-blk-pci,drive=" + DISK_NODE + ",id=vda,share-rw=on"));
            dst = QemuProcess.builder().name("dst").memoryMb(256).guest(guest, workload).extraArgs(args)
                    .incomingDefer(true).start();
            destinationStarted.complete(dst);
            dstQmp = QmpClient.connect(dst.qmpSocket());
            DestinationMigration destinationDriver = new DestinationMigration(dstQmp, destination, "unix:" + migSocket, dstTimeline);
            cleanup.add(destinationDriver);
            destinationUp.complete(null);
            CompletableFuture<DestinationReport> destinationRun = new CompletableFuture<>();
            Thread d = new Thread(() -> {
                try {
                    destinationRun.complete(destinationDriver.awaitAndFinish(TIMEOUT));
                } catch (Throwable e) {
                    destinationRun.completeExceptionally(e);
                }
            }, "destination-driver-" + id);
            d.setDaemon(true);
            d.start();
            // Whichever side fails first ends the wait: a source that cancels before memory
            // migration started would otherwise leave the destination waiting for the timeout.
            CompletableFuture.anyOf(sourceRun, destinationRun).exceptionally(e -> null)
                    .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (sourceRun.isCompletedExceptionally()) sourceRun.join();    // throws; handled below
            DestinationReport report = unwrap(destinationRun, TIMEOUT);
            return unwrap(sourceRun, TIMEOUT).withDestination(report);
        } catch (Exception e) {
            destinationUp.completeExceptionally(e);
            killDestination();
            Exception sourceFailure = sourceFailure(sourceRun);
            throw sourceFailure != null ? sourceFailure : unwrapped(e);
        }
    }

    private void killDestination() {
        if (dst != null && dst.isAlive()) {
            dst.kill();
            dst.awaitExit(Duration.ofSeconds(10));
        }
    }

    /** The source side's failure, waiting a bounded time for it to end; null if it succeeded or still runs. */
    private static Exception sourceFailure(CompletableFuture<MigrationReport> sourceRun) {
        try {
            sourceRun.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause() instanceof Exception c ? c : e;
        } catch (java.util.concurrent.CompletionException e) {
            return e.getCause() instanceof Exception c ? c : e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (java.util.concurrent.TimeoutException e) {
            return null;
        }
    }

    private static <T> T unwrap(CompletableFuture<T> f, Duration timeout) throws Exception {
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        }
    }

    private static Exception unwrapped(Exception e) {
        if ((e instanceof ExecutionException || e instanceof java.util.concurrent.CompletionException)
                && e.getCause() instanceof Exception c) return c;
        return e;
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
