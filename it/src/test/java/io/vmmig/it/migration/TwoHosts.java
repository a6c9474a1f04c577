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
import java.util.concurrent.TimeUnit;
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
        TestGuest guest = TestGuest.get();
        DiskImage disk = DiskImage.create(dir.resolve("src.qcow2"), DiskImage.Format.QCOW2, diskBytes);
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
        String id = strategy.cliName() + "-" + Long.toHexString(System.nanoTime());
        DiskImage dstDisk = DiskImage.create(dir.resolve("dst-" + id + ".qcow2"), DiskImage.Format.QCOW2, srcDisk.sizeBytes());
        MigrationTimeline srcTimeline = new MigrationTimeline();
        MigrationTimeline dstTimeline = new MigrationTimeline();
        SocketPeerChannel toDest;
        SocketPeerChannel fromSource;
        try (ServerSocketChannel listener = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            toDest = SocketPeerChannel.connect(listener.getLocalAddress());
            fromSource = new SocketPeerChannel(listener.accept());
        }
        ChunkTransferDestination destination = new ChunkTransferDestination(new ChunkTransferDestination.Config(id,
                dstDisk.path(), "qcow2", DISK_NODE, srcDisk.sizeBytes(), chunkSize, 2, dir, TIMEOUT), fromSource, dstTimeline);
        cleanup.add(destination);
        ChunkTransferSource source = new ChunkTransferSource(srcQmp, new ChunkTransferSource.Config(strategy, id, DISK_NODE,
                chunkSize, push, Duration.ofMillis(300), dir, TIMEOUT, limits), toDest, srcTimeline);
        cleanup.add(source);
        return run(id, strategy, source, destination, srcTimeline, dstTimeline, beforeMemory);
    }

    /**
     * Runs any strategy pair: starts the destination QEMU with the destination strategy's blockdev
     * arguments, both drivers, and returns the combined report.
     */
    public MigrationReport run(String id, Strategy strategy, SourceStrategy source, DestinationStrategy destination,
                               MigrationTimeline srcTimeline, MigrationTimeline dstTimeline, Runnable beforeMemory)
            throws Exception {
        String migSocket = dir.resolve("mig-" + id + ".sock").toString();
        SourceMigration sourceDriver = new SourceMigration(srcQmp, source,
                new SourceMigration.Options(id, strategy, "unix:" + migSocket, TIMEOUT), srcTimeline);
        // The source side serves from the start: the destination QEMU reads sector 0 through the
        // destination agent as soon as its disk node exists, and that read may go to the source.
        CompletableFuture<MigrationReport> sourceRun = new CompletableFuture<>();
        CompletableFuture<Void> destinationUp = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                sourceRun.complete(sourceDriver.runAfter(destinationUp, beforeMemory));
            } catch (Throwable e) {
                sourceRun.completeExceptionally(e);
            }
        }, "source-driver-" + id);
        t.start();
        try {
            List<String> args = new ArrayList<>(destination.qemuBlockdevArgs());
            args.addAll(List.of("-device", "virtio-blk-pci,drive=" + DISK_NODE + ",id=vda,share-rw=on"));
            dst = QemuProcess.builder().name("dst").memoryMb(256).guest(guest, workload).extraArgs(args)
                    .incomingDefer(true).start();
            dstQmp = QmpClient.connect(dst.qmpSocket());
            DestinationMigration destinationDriver = new DestinationMigration(dstQmp, destination, "unix:" + migSocket, dstTimeline);
            cleanup.add(destinationDriver);
            destinationUp.complete(null);
            DestinationReport d = destinationDriver.awaitAndFinish(TIMEOUT);
            return sourceRun.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).withDestination(d);
        } catch (Exception e) {
            destinationUp.completeExceptionally(e);
            throw e;
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
