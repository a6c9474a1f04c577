package io.vmmig.it.migration;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryBlockExports;
import io.vmmig.qmp.command.QmpCommands.QueryBlockJobs;
import io.vmmig.qmp.command.QmpCommands.QueryNamedBlockNodes;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.qmp.command.QmpResults.BlockDeviceInfo;
import io.vmmig.qmp.command.QmpResults.BlockExportInfo;
import io.vmmig.qmp.command.QmpResults.BlockJobInfo;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.qemu.MirrorDestination;
import io.vmmig.strategy.qemu.MirrorSource;
import io.vmmig.strategy.qemu.MirrorTarget;
import io.vmmig.strategy.qemu.SourceMigration;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.HostCommand;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The mirror baseline between two real QEMUs with a writing guest: blockdev-mirror to the
 * destination's NBD export, memory migration once READY, mirror ended without pivot at the
 * pre-switchover pause; then the source is killed and the guest still verifies. And a cancel
 * before the cutover that leaves the source QEMU as it was.
 */
class MirrorMigrationIT {
    private static final long DISK = 128L << 20;

    @TempDir Path dir;

    private static Workload writingGuest() {
        // 32 MiB written area on a 128 MiB disk; hot random writes over 1 MiB after the prefill.
        return Workload.defaults().withBlocks(8192).withHotSet(0, 256).withRate(2000);
    }

    private record Pair(MirrorSource source, MirrorDestination destination, MigrationTimeline srcTimeline,
                        MigrationTimeline dstTimeline) {}

    private Pair pair(String id, QmpClient srcQmp, MirrorSource.Mode mode) {
        return pair(id, srcQmp, mode, 0);
    }

    /** With {@code tcpPort} > 0 the mirror goes over TCP to 127.0.0.1 on that port. */
    private Pair pair(String id, QmpClient srcQmp, MirrorSource.Mode mode, int tcpPort) {
        DiskImage dstDisk = DiskImage.create(dir.resolve("dst-" + id + ".qcow2"), DiskImage.Format.QCOW2, DISK);
        MigrationTimeline srcTimeline = new MigrationTimeline();
        MigrationTimeline dstTimeline = new MigrationTimeline();
        MirrorDestination.Config config = new MirrorDestination.Config(id, dstDisk.path(), "qcow2",
                TwoHosts.DISK_NODE, dir, TwoHosts.TIMEOUT);
        if (tcpPort > 0) config = config.withTcpListen("127.0.0.1", tcpPort);
        MirrorDestination destination = new MirrorDestination(config, dstTimeline);
        MirrorSource source = new MirrorSource(srcQmp, new MirrorSource.Config(id, TwoHosts.DISK_NODE, mode,
                TwoHosts.TIMEOUT), destination.exported(), srcTimeline);
        return new Pair(source, destination, srcTimeline, dstTimeline);
    }

    @ParameterizedTest
    @EnumSource(MirrorSource.Mode.class)
    void writingGuestMigratesAndVerifiesWithTheSourceKilled(MirrorSource.Mode mode) throws Exception {
        try (TwoHosts hosts = TwoHosts.start(dir, writingGuest(), DISK)) {
            Snapshot before = Snapshot.of(hosts.sourceQmp());
            String id = "mirror-" + mode.qemuName() + "-" + Long.toHexString(System.nanoTime());
            Pair p = pair(id, hosts.sourceQmp(), mode);
            MigrationReport r;
            try (MirrorSource source = p.source(); MirrorDestination destination = p.destination()) {
                r = hosts.run(id, Strategy.MIRROR, source, destination, p.srcTimeline(), p.dstTimeline(), () -> { });
            }
            System.out.print("[" + mode + "] " + r.summary());
            assertTrue(r.source().mirroredBytes() > 0, "the mirror job copied bytes");
            assertEquals(r.source().mirroredBytes(), r.diskBytesMoved());
            assertTrue(r.qemuDowntimeMillis() >= 0);

            // Nothing of vmmig left on either side: no job, no export, no NBD node.
            assertEquals(before, Snapshot.of(hosts.sourceQmp()), "the source's nodes, exports and jobs after");
            assertEquals(List.of(), hosts.destinationQmp().call(new QueryBlockExports()));
            assertEquals("running", hosts.destinationQmp().queryStatus().get(10, TimeUnit.SECONDS).status());

            String v = hosts.verify(hosts.destination());
            assertTrue(v.startsWith("VERIFY OK 8192") && v.contains("ioerrors=0"), v);

            // No residual dependency: the source is gone, the guest still verifies.
            hosts.source().kill();
            assertTrue(hosts.source().awaitExit(Duration.ofSeconds(10)).isPresent());
            v = hosts.verify(hosts.destination());
            assertTrue(v.startsWith("VERIFY OK 8192") && v.contains("ioerrors=0"), v);
        }
    }

    @Test
    void writingGuestMigratesOverTcp() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();     // free now; QEMU binds it below
        }
        try (TwoHosts hosts = TwoHosts.start(dir, writingGuest(), DISK)) {
            Snapshot before = Snapshot.of(hosts.sourceQmp());
            String id = "mirror-tcp-" + Long.toHexString(System.nanoTime());
            Pair p = pair(id, hosts.sourceQmp(), MirrorSource.Mode.BACKGROUND, port);
            MigrationReport r;
            try (MirrorSource source = p.source(); MirrorDestination destination = p.destination()) {
                r = hosts.run(id, Strategy.MIRROR, source, destination, p.srcTimeline(), p.dstTimeline(), () -> { });
                MirrorTarget target = destination.exported().getNow(null);
                assertEquals(MirrorTarget.tcp("127.0.0.1", port, destination.exportName()), target);
                assertFalse(java.nio.file.Files.exists(destination.socket()), "no UNIX socket in the TCP form");
            }
            System.out.print("[tcp] " + r.summary());
            assertTrue(r.source().mirroredBytes() > 0, "the mirror job copied bytes over TCP");
            assertEquals(before, Snapshot.of(hosts.sourceQmp()), "the source's nodes, exports and jobs after");
            assertEquals(List.of(), hosts.destinationQmp().call(new QueryBlockExports()));
            try (java.net.Socket s = new java.net.Socket()) {
                assertThrows(java.io.IOException.class,
                        () -> s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 2000),
                        "QEMU's NBD server no longer listens after the migration");
            }

            String v = hosts.verify(hosts.destination());
            assertTrue(v.startsWith("VERIFY OK 8192") && v.contains("ioerrors=0"), v);
            hosts.source().kill();
            assertTrue(hosts.source().awaitExit(Duration.ofSeconds(10)).isPresent());
            v = hosts.verify(hosts.destination());
            assertTrue(v.startsWith("VERIFY OK 8192") && v.contains("ioerrors=0"), v);
        }
    }

    @Test
    void cancelBeforeCutoverLeavesTheSourceAsItWas() throws Exception {
        try (TwoHosts hosts = TwoHosts.start(dir, writingGuest(), DISK)) {
            QmpClient srcQmp = hosts.sourceQmp();
            Snapshot before = Snapshot.of(srcQmp);
            String id = "mirror-cancel-" + Long.toHexString(System.nanoTime());
            Pair p = pair(id, srcQmp, MirrorSource.Mode.BACKGROUND);
            SourceMigration driver = new SourceMigration(srcQmp, p.source(),
                    new SourceMigration.Options(id, Strategy.MIRROR, null, TwoHosts.TIMEOUT), p.srcTimeline());
            CompletableFuture<Void> neverListening = new CompletableFuture<>();
            CompletableFuture<Object> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return driver.runAfter(neverListening, () -> { });
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            });
            List<String> during;
            try (QemuProcess dst = QemuProcess.builder().name("dst").memoryMb(256).guest(TestGuest.get(), writingGuest())
                    .extraArgs(destinationArgs(p.destination())).incomingDefer(true).start();
                 QmpClient dstQmp = QmpClient.connect(dst.qmpSocket());
                 MirrorDestination destination = p.destination()) {
                destination.attach(dstQmp);
                p.source().readyForMemory().get(TwoHosts.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                during = vmmigNodes(srcQmp);
                assertEquals(List.of(p.source().nbdNode()), during, "the mirror's NBD node while it runs");
                assertTrue(srcQmp.call(new QueryBlockJobs()).stream()
                        .anyMatch(j -> j.device().equals(p.source().jobId()) && j.ready()), "the job is READY");

                int mark = hosts.source().console().lineCount();
                driver.cancel("operator asked");
                ExecutionException failure = assertThrows(ExecutionException.class,
                        () -> run.get(TwoHosts.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
                assertInstanceOf(SourceMigration.CancelledException.class, failure.getCause(),
                        failure.toString());
                assertFalse(driver.switchedOver());

                assertEquals(before, Snapshot.of(srcQmp), "the source's nodes, exports and jobs after the cancel");
                assertEquals("running", srcQmp.queryStatus().get(10, TimeUnit.SECONDS).status());
                hosts.source().console().awaitLine(Pattern.compile("^HB "), TwoHosts.TIMEOUT, mark);
                hosts.source().console().awaitLine(Pattern.compile("^TPUT "), TwoHosts.TIMEOUT, mark);
                destination.close();
                dst.close();
                assertFalse(dst.isAlive(), "the destination QEMU is closed");
            }
            String v = hosts.verify(hosts.source());
            assertTrue(v.startsWith("VERIFY OK 8192") && v.contains("ioerrors=0"), v);
        }
    }

    @Test
    void aDiskWithABackingFileMirrorsOnlyItsTopLayer() throws Exception {
        // The same base image on both "hosts"; the source's overlay holds 1.5 MiB of its own.
        Path base = dir.resolve("base.qcow2");
        Path srcTop = dir.resolve("src-top.qcow2");
        Path dstTop = dir.resolve("dst-top.qcow2");
        HostCommand.run("qemu-img", "create", "-q", "-f", "qcow2", base.toString(), "64M");
        HostCommand.run("qemu-io", "-f", "qcow2", "-c", "write -P 0xaa 0 8M", base.toString());
        for (Path top : List.of(srcTop, dstTop)) {
            HostCommand.run("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base.toString(), top.toString());
        }
        HostCommand.run("qemu-io", "-f", "qcow2", "-c", "write -P 0xbb 1M 1M", "-c", "write -P 0xcc 20M 512k",
                srcTop.toString());
        long topBytes = (1L << 20) + (512L << 10);

        String id = "mirror-top-" + Long.toHexString(System.nanoTime());
        MirrorDestination destination = new MirrorDestination(new MirrorDestination.Config(id, dstTop, "qcow2",
                TwoHosts.DISK_NODE, dir, TwoHosts.TIMEOUT), new MigrationTimeline());
        MirrorSource source;
        // No guest: nothing writes, so ending the READY job is the whole hand-over.
        try (QemuProcess dst = QemuProcess.builder().name("dst").extraArgs(destination.qemuBlockdevArgs()).start();
             QemuProcess src = QemuProcess.builder().name("src")
                     .extraArgs(new DiskImage(srcTop, DiskImage.Format.QCOW2, 64L << 20).qemuArgs()).start();
             QmpClient dstQmp = QmpClient.connect(dst.qmpSocket());
             QmpClient srcQmp = QmpClient.connect(src.qmpSocket());
             destination) {
            destination.attach(dstQmp);
            source = new MirrorSource(srcQmp, new MirrorSource.Config(id, TwoHosts.DISK_NODE, MirrorSource.Mode.BACKGROUND,
                    TwoHosts.TIMEOUT), destination.exported(), new MigrationTimeline());
            try (source) {
                source.start();
                source.readyForMemory().get(TwoHosts.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                source.atPause();
                assertTrue(source.finished().isDone() && !source.finished().isCompletedExceptionally());
            }
            destination.close();
            for (QmpClient q : List.of(srcQmp, dstQmp)) q.call(new Quit());
            assertTrue(src.awaitExit(Duration.ofSeconds(10)).isPresent() && dst.awaitExit(Duration.ofSeconds(10)).isPresent());
        }
        System.out.println("sync=top mirrored " + source.report().mirroredBytes() + " bytes");
        assertEquals(topBytes, source.report().mirroredBytes(), "only the top layer was copied");
        // Same guest-visible bytes, base included (exit 1 if they differ)...
        HostCommand.run("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", srcTop.toString(), dstTop.toString());
        // ...and the destination's own layer holds just what the source's did.
        assertEquals(topBytes, topLayerDataBytes(dstTop));
    }

    /** Bytes with data in an image's own layer (qemu-img map: depth 0). */
    private static long topLayerDataBytes(Path image) throws Exception {
        JsonNode map = new ObjectMapper().readTree(HostCommand.run("qemu-img", "map", "--output=json", image.toString()));
        long n = 0;
        for (JsonNode e : map) {
            if (e.path("depth").asInt() == 0 && e.path("data").asBoolean()) n += e.path("length").asLong();
        }
        return n;
    }

    @Test
    void aFullDestinationFailsTheMirrorFastWithQemusErrorAndLeavesNothing() throws Exception {
        try (TwoHosts hosts = TwoHosts.start(dir, writingGuest(), DISK);
             FullDisk full = FullDisk.start(dir.resolve("full.sock"), DISK)) {
            QmpClient srcQmp = hosts.sourceQmp();
            Snapshot before = Snapshot.of(srcQmp);
            String id = "mirror-full-" + Long.toHexString(System.nanoTime());
            MirrorSource source = new MirrorSource(srcQmp, new MirrorSource.Config(id, TwoHosts.DISK_NODE,
                    MirrorSource.Mode.BACKGROUND, TwoHosts.TIMEOUT),
                    CompletableFuture.completedFuture(new MirrorTarget(full.socket(), "")), new MigrationTimeline());
            try (source) {
                source.start();
                ExecutionException failed = assertThrows(ExecutionException.class,
                        () -> source.readyForMemory().get(TwoHosts.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
                System.out.println("mirror onto a full disk: " + failed.getCause().getMessage());
                assertTrue(failed.getCause().getMessage().contains("No space left on device"), failed.toString());
                source.cancel("the destination failed");
            }
            assertEquals(before, Snapshot.of(srcQmp), "the source's nodes, exports and jobs after the failure");
            assertEquals("running", srcQmp.queryStatus().get(10, TimeUnit.SECONDS).status());
        }
    }

    /**
     * nbdkit's {@code full} plugin on a UNIX socket: a destination whose every write fails with
     * ENOSPC (a fault a healthy destination QEMU does not produce on demand).
     */
    private record FullDisk(Path socket, Path pidFile) implements AutoCloseable {
        static FullDisk start(Path socket, long size) throws Exception {
            Path pidFile = socket.resolveSibling("nbdkit-full.pid");
            // Without -f nbdkit returns once its socket listens; the server goes on as a daemon.
            Process launcher = new ProcessBuilder("nbdkit", "-U", socket.toString(), "-P", pidFile.toString(),
                    "full", "size=" + size).redirectErrorStream(true).start();
            assertTrue(launcher.waitFor(30, TimeUnit.SECONDS), "nbdkit did not start in time");
            String out = new String(launcher.getInputStream().readAllBytes());
            assertEquals(0, launcher.exitValue(), "nbdkit: " + out);
            return new FullDisk(socket, pidFile);
        }

        @Override
        public void close() throws Exception {
            long pid = Long.parseLong(java.nio.file.Files.readString(pidFile).trim());
            var handle = ProcessHandle.of(pid);
            if (handle.isPresent()) {
                handle.get().destroy();
                handle.get().onExit().get(10, TimeUnit.SECONDS);
            }
        }
    }

    private static List<String> destinationArgs(MirrorDestination d) {
        List<String> args = new ArrayList<>(d.qemuBlockdevArgs());
        args.addAll(List.of("-device", "virtio-blk-pci,drive=" + TwoHosts.DISK_NODE + ",id=vda,share-rw=on"));
        return args;
    }

    private static List<String> vmmigNodes(QmpClient qmp) {
        return qmp.call(new QueryNamedBlockNodes(null)).stream()
                .map(BlockDeviceInfo::nodeName).filter(n -> n.startsWith("vmmig")).sorted().toList();
    }

    /** What a QEMU's block layer holds, by name: named nodes, exports, jobs. */
    private record Snapshot(Set<String> nodes, Set<String> exports, Set<String> jobs) {
        static Snapshot of(QmpClient qmp) {
            return new Snapshot(
                    qmp.call(new QueryNamedBlockNodes(null)).stream()
                            .map(BlockDeviceInfo::nodeName).collect(Collectors.toCollection(TreeSet::new)),
                    qmp.call(new QueryBlockExports()).stream()
                            .map(BlockExportInfo::id).collect(Collectors.toCollection(TreeSet::new)),
                    qmp.call(new QueryBlockJobs()).stream()
                            .map(BlockJobInfo::device).collect(Collectors.toCollection(TreeSet::new)));
        }
    }
}
