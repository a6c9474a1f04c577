package io.vmmig.it.hybrid;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.Migrate;
import io.vmmig.qmp.command.QmpCommands.MigrateIncoming;
import io.vmmig.qmp.command.QmpCommands.MigrateSetCapabilities;
import io.vmmig.qmp.command.QmpCommands.QueryMigrate;
import io.vmmig.qmp.command.QmpResults.MigrationCapability;
import io.vmmig.strategy.peer.SocketPeerChannel;
import io.vmmig.strategy.qemu.Cutover;
import io.vmmig.strategy.qemu.HybridDestination;
import io.vmmig.strategy.qemu.HybridSource;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.source.SourceOptions;
import io.vmmig.testkit.ConsoleLine;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hybrid migration of a running, writing guest between two real QEMUs: push before cutover,
 * hand-over at the pre-switchover pause, pull after, pivot to the local image, source gone.
 */
class HybridMigrationIT {
    private static final Duration T = Duration.ofSeconds(60);
    private static final int CHUNK = 256 * 1024;

    @TempDir Path dir;

    @Test
    void writingGuestMigratesAndVerifiesWithTheSourceKilled() throws Exception {
        TestGuest guest = TestGuest.get();
        // 32 MiB written area on a 128 MiB disk; hot random writes over 1 MiB after the prefill.
        Workload w = Workload.defaults().withBlocks(8192).withHotSet(0, 256).withRate(2000);
        DiskImage srcDisk = DiskImage.create(dir.resolve("src.qcow2"), DiskImage.Format.QCOW2, 128L << 20);
        DiskImage dstDisk = DiskImage.create(dir.resolve("dst.qcow2"), DiskImage.Format.QCOW2, 128L << 20);
        MigrationTimeline srcTimeline = new MigrationTimeline();
        MigrationTimeline dstTimeline = new MigrationTimeline();
        List<AutoCloseable> cleanup = new ArrayList<>();
        try (QemuProcess src = QemuProcess.builder().name("hy-src").memoryMb(256).guest(guest, w).disk(srcDisk).start();
             ServerSocketChannel peerListener = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            src.console().awaitLine(Pattern.compile("^PREFILL DONE"), Duration.ofSeconds(120));

            SocketPeerChannel toDest = SocketPeerChannel.connect(peerListener.getLocalAddress());
            SocketPeerChannel fromSource = new SocketPeerChannel(peerListener.accept());

            HybridDestination destination = new HybridDestination(new HybridDestination.Config("it1",
                    dstDisk.path(), "qcow2", "disk0", 128L << 20, CHUNK, 2, dir, T), fromSource, dstTimeline);
            cleanup.add(destination);
            try (QmpClient srcQmp = QmpClient.connect(src.qmpSocket())) {
                // The source serves from the start: the destination QEMU reads sector 0 through the
                // agent as soon as its disk node is created, and the agent asks the source for it.
                HybridSource source = new HybridSource(srcQmp, new HybridSource.Config("it1", "disk0", CHUNK,
                        new SourceOptions(3, 4, 8L << 20, false, true), Duration.ofMillis(300), dir, T),
                        toDest, srcTimeline);
                cleanup.add(source);
                source.start();
                List<String> dstArgs = new ArrayList<>(destination.qemuBlockdevArgs());
                dstArgs.addAll(List.of("-device", "virtio-blk-pci,drive=disk0,id=vda,share-rw=on"));
                try (QemuProcess dst = QemuProcess.builder().name("hy-dst").memoryMb(256).guest(guest, w)
                             .extraArgs(dstArgs).incomingDefer(true).start();
                     QmpClient dstQmp = QmpClient.connect(dst.qmpSocket())) {
                destination.attach(dstQmp);
                dstQmp.call(new MigrateSetCapabilities(List.of(new MigrationCapability("events", true))));
                String migSocket = dir.resolve("mig.sock").toString();
                dstQmp.call(new MigrateIncoming("unix:" + migSocket));

                try (Cutover cutover = new Cutover(srcQmp, source::handOver)) {
                    // Let the push run a little while the guest keeps writing, then start memory migration.
                    awaitCondition("push progress", () -> source.counters().pushedChunks.get() > 10);
                    srcQmp.call(new Migrate("unix:" + migSocket, null, null));
                    cutover.completed().get(120, TimeUnit.SECONDS);
                    assertTrue(cutover.handedOver().isDone() && !cutover.handedOver().isCompletedExceptionally());

                    destination.complete().get(120, TimeUnit.SECONDS);
                    source.finished().get(30, TimeUnit.SECONDS);
                    destination.pivot();
                    source.release();
                    System.out.printf("hybrid: pushed %d chunks (%d bytes), zero-skipped %d bytes, remaining at cutover %d,"
                                    + " pulled %d bytes (on-demand %s), storage pause %d ms, QEMU downtime %s ms%n",
                            source.counters().pushedChunks.get(), source.counters().pushedBytes.get(),
                            source.counters().zeroSkippedBytes.get(), source.counters().remainingAtCutover.get(),
                            destination.transfer().pulledBytes(), destination.transfer().pullStats(),
                            cutover.pauseSpent().toMillis(), srcQmp.call(new QueryMigrate()).downtime());
                }

                // The guest runs on at the destination and reads back its whole disk.
                int mark = dst.console().lineCount();
                dst.console().send("verify");
                ConsoleLine v = dst.console().awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofSeconds(120), mark);
                assertTrue(v.text().startsWith("VERIFY OK 8192"), v.text());

                // No residual dependency: the source is gone, the guest still verifies.
                src.kill();
                assertTrue(src.awaitExit(Duration.ofSeconds(10)).isPresent());
                mark = dst.console().lineCount();
                dst.console().send("verify");
                v = dst.console().awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofSeconds(120), mark);
                assertTrue(v.text().startsWith("VERIFY OK 8192"), v.text());
                assertTrue(v.text().contains("ioerrors=0"), "no I/O errors in the guest: " + v.text());
                }
            }
        } finally {
            for (AutoCloseable c : cleanup) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // best effort
                }
            }
        }
    }

    private static void awaitCondition(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + T.toNanos();
        Object lock = new Object();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            synchronized (lock) {
                lock.wait(20);
            }
        }
    }
}
