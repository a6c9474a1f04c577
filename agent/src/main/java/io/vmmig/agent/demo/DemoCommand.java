package io.vmmig.agent.demo;

import io.vmmig.agent.Main;
import io.vmmig.qmp.QmpClient;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.peer.SocketPeerChannel;
import io.vmmig.strategy.qemu.ChunkTransferDestination;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.qemu.SourceMigration;
import io.vmmig.strategy.source.SourceOptions;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.Heartbeats;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmmig demo}: a live migration of a writing guest between two QEMUs on this machine, with
 * progress, the final report, and the guest's own read-back of its disk at the destination, before
 * and after the source is killed.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Migrate a writing test guest between two local QEMUs and show progress and the report.")
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--strategy", defaultValue = "hybrid", description = "hybrid, precopy or postcopy (default ${DEFAULT-VALUE})")
    String strategy;

    @Option(names = "--disk-mib", defaultValue = "256", description = "guest disk size in MiB (default ${DEFAULT-VALUE})")
    int diskMib;

    @Option(names = "--area-mib", defaultValue = "64", description = "MiB the guest prefills and verifies (default ${DEFAULT-VALUE})")
    int areaMib;

    @Option(names = "--hot-mib", defaultValue = "4", description = "hot set rewritten during the migration, MiB (default ${DEFAULT-VALUE})")
    int hotMib;

    @Option(names = "--rate", defaultValue = "2000", description = "guest writes per second of 4 KiB (default ${DEFAULT-VALUE})")
    int rate;

    @Option(names = "--chunk-kib", defaultValue = "256", description = "transfer chunk in KiB (default ${DEFAULT-VALUE})")
    int chunkKib;

    @Option(names = "--threshold", defaultValue = "2", description = "writes after which hybrid stops pushing a chunk (default ${DEFAULT-VALUE})")
    int threshold;

    @Override
    public Integer call() throws Exception {
        Strategy s = Strategy.parse(strategy);
        if (s == Strategy.MIRROR) {
            System.err.println("vmmig demo: the mirror strategy is not in the demo yet; use hybrid, precopy or postcopy");
            return Main.EXIT_USAGE;
        }
        if (areaMib > diskMib || hotMib > areaMib) {
            System.err.println("vmmig demo: need hot-mib <= area-mib <= disk-mib, got " + hotMib + " / " + areaMib + " / " + diskMib);
            return Main.EXIT_USAGE;
        }
        Progress out = new Progress();
        Path dir = Files.createTempDirectory("vmmig-demo-");
        out.say("vmmig demo: %s migration of a writing guest between two local QEMUs (work dir %s)", s.cliName(), dir);
        out.say("building or reusing the test guest (Debian kernel + busybox + integrity workload)");
        TestGuest guest;
        try {
            guest = TestGuest.get();
        } catch (RuntimeException e) {
            System.err.println("vmmig demo: cannot build the test guest: " + e.getMessage());
            return Main.EXIT_ENVIRONMENT;
        }
        int block = 4096;
        Workload w = Workload.defaults().withBlocks((long) areaMib * (1 << 20) / block)
                .withHotSet(0, (long) hotMib * (1 << 20) / block).withRate(rate);
        long diskBytes = (long) diskMib << 20;
        DiskImage srcDisk = DiskImage.create(dir.resolve("source.qcow2"), DiskImage.Format.QCOW2, diskBytes);
        DiskImage dstDisk = DiskImage.create(dir.resolve("destination.qcow2"), DiskImage.Format.QCOW2, diskBytes);
        List<AutoCloseable> cleanup = new ArrayList<>();
        QemuProcess src = QemuProcess.builder().name("demo-src").memoryMb(256).guest(guest, w).disk(srcDisk).start();
        cleanup.add(src);
        QemuProcess[] dst = new QemuProcess[1];
        try {
            out.say("source QEMU up (%s); guest prefilling %d MiB, then rewriting a %d MiB hot set at %d writes/s",
                    src.accelerator(), areaMib, hotMib, rate);
            src.console().awaitLine(Pattern.compile("^PREFILL DONE"), Duration.ofMinutes(5));
            out.say("prefill done; the guest keeps writing its hot set");
            QmpClient srcQmp = QmpClient.connect(src.qmpSocket());
            cleanup.add(0, srcQmp);

            SocketPeerChannel toDest;
            SocketPeerChannel fromSource;
            try (ServerSocketChannel listener = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
                toDest = SocketPeerChannel.connect(listener.getLocalAddress());
                fromSource = new SocketPeerChannel(listener.accept());
            }
            String id = "demo";
            Duration timeout = Duration.ofMinutes(5);
            int chunk = chunkKib * 1024;
            MigrationTimeline srcTimeline = new MigrationTimeline();
            MigrationTimeline dstTimeline = new MigrationTimeline();
            ChunkTransferDestination destination = new ChunkTransferDestination(new ChunkTransferDestination.Config(id,
                    dstDisk.path(), "qcow2", "disk0", diskBytes, chunk, 2, dir, timeout), fromSource, dstTimeline);
            cleanup.add(0, destination);
            ChunkTransferSource source = new ChunkTransferSource(srcQmp, new ChunkTransferSource.Config(s, id, "disk0",
                    chunk, SourceOptions.defaults().withThreshold(threshold), Duration.ofMillis(300), dir, timeout,
                    ChunkTransferSource.PrecopyLimits.defaults()), toDest, srcTimeline);
            cleanup.add(0, source);
            out.say("migrating: disk by vmmig (%s, %d KiB chunks, threshold %d), memory by QEMU", s.cliName(), chunkKib, threshold);
            MigrationReport report;
            try (ProgressPrinter printer = new ProgressPrinter(out, srcQmp, source, destination, srcTimeline)) {
                LocalPair pair = new LocalPair(id, srcQmp, source, destination,
                        new SourceMigration.Options(id, s, "unix:" + dir.resolve("memory.sock"), timeout),
                        "unix:" + dir.resolve("memory.sock"), srcTimeline, dstTimeline);
                report = pair.run(args -> {
                    List<String> all = new ArrayList<>(args);
                    all.addAll(List.of("-device", "virtio-blk-pci,drive=disk0,id=vda,share-rw=on"));
                    dst[0] = QemuProcess.builder().name("demo-dst").memoryMb(256).guest(guest, w).extraArgs(all)
                            .incomingDefer(true).start();
                    cleanup.add(dst[0]);
                    QmpClient q = QmpClient.connect(dst[0].qmpSocket());
                    cleanup.add(0, q);
                    return q;
                }, () -> { }, () -> { });
            }
            Heartbeats hb = Heartbeats.of(src.console().lines(), dst[0].console().lines());
            var gap = hb.consoleChanges().stream().findFirst();
            report = report.withGuestGap(gap.map(g -> g.host().toMillis()).orElse(-1L));
            System.out.println();
            System.out.print(report.summary());
            gap.ifPresent(g -> out.say(
                    "guest-visible pause (heartbeat gap across the switchover): %d ms host time, %d ms guest clock",
                    g.host().toMillis(), g.guest().toMillis()));
            String first = verify(dst[0]);
            out.say("guest at the destination reads back its disk: %s", first);
            src.kill();
            src.awaitExit(Duration.ofSeconds(10));
            String second = verify(dst[0]);
            out.say("source QEMU killed (SIGKILL); guest verifies again: %s", second);
            if (!first.startsWith("VERIFY OK") || !second.startsWith("VERIFY OK")) {
                System.err.println("vmmig demo: the guest found its disk damaged after the migration");
                return Main.EXIT_FAILED;
            }
            return 0;
        } catch (Exception e) {
            System.err.println("vmmig demo: migration failed: " + e.getMessage());
            return Main.EXIT_FAILED;
        } finally {
            for (AutoCloseable c : cleanup) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // best effort
                }
            }
            if (!keep) deleteTree(dir);
        }
    }

    @Option(names = "--keep", description = "keep the work directory (images, sockets) for inspection")
    boolean keep;

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException e) {
            System.err.println("vmmig demo: could not remove " + dir + ": " + e.getMessage());
        }
    }

    private static String verify(QemuProcess where) {
        int mark = where.console().lineCount();
        where.console().send("verify");
        return where.console().awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofMinutes(2), mark).text();
    }
}
