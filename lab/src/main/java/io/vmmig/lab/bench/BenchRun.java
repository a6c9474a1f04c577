package io.vmmig.lab.bench;

import io.vmmig.lab.demo.LocalPair;
import io.vmmig.qmp.QmpClient;
import io.vmmig.strategy.peer.SocketPeerChannel;
import io.vmmig.strategy.qemu.ChunkTransferDestination;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.DestinationStrategy;
import io.vmmig.strategy.qemu.MigrationEvent;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.qemu.MirrorDestination;
import io.vmmig.strategy.qemu.MirrorSource;
import io.vmmig.strategy.qemu.MirrorTarget;
import io.vmmig.strategy.qemu.SourceMigration;
import io.vmmig.strategy.qemu.SourceStrategy;
import io.vmmig.strategy.source.SourceOptions;
import io.vmmig.testkit.ConsoleLine;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.Heartbeats;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.SerialConsole;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import io.vmmig.testkit.net.GuestProbe;
import io.vmmig.testkit.net.InterfaceCounters;
import io.vmmig.testkit.net.ProbeRecord;
import io.vmmig.testkit.net.NetworkLab;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One benchmark run: a source QEMU restored from the workload's {@link GuestSnapshot} (booted and
 * prefilled once), a few seconds of throughput before, the migration across the lab link, a few seconds
 * after, the guest's verify at the destination; everything torn down after.
 */
final class BenchRun {
    static final String ID = "bench";
    static final String NODE = "disk0";
    static final int CHUNK = 256 * 1024;
    /** The product's defaults: what `vmmig migrate` uses. */
    static final int THRESHOLD = SourceOptions.defaults().threshold();
    private static final Duration TIMEOUT = Duration.ofMinutes(5);
    /**
     * How long a mirror may take to reach READY and migrate memory: a background mirror whose guest
     * writes faster than the link never gets READY (libvirt would wait for ever); the run then reports
     * that it did not converge. 15 s is about twice what a scenario's data (16 MiB area + ~65 MiB of RAM)
     * needs at 100 Mbit/s, like pre-copy's cap of 10 rounds.
     */
    static final Duration MIRROR_LIMIT = Duration.ofSeconds(15);
    private static final Pattern TPUT = Pattern.compile("^TPUT ");
    /** TPUT reports (one a second) averaged before the start and after the end. */
    static final int REPORTS_BEFORE = 2;
    static final int REPORTS_AFTER = 2;

    private final NetworkLab lab;
    private final CrossLinks links;
    private final TestGuest guest;
    private final Map<BenchWorkload, GuestSnapshot> snapshots;
    private final BenchSizes sizes;
    private final Path workRoot;
    /** How the source compresses chunk data (the bench's {@code --compression}; off by default). */
    private io.vmmig.strategy.peer.ChunkCompression compression = io.vmmig.strategy.peer.ChunkCompression.OFF;

    /**
     * Whether pre-copy runs boot their source guest instead of restoring the snapshot. Pre-copy has the
     * longest memory migration of the strategies (after up to 10 disk rounds, beside more of them) and a
     * 1.2-2 s paused final round under heavy writes: on a 2-core host that is where QEMU 7.2's TCG left
     * stale guest RAM (shared/notes/tcg-stale-ram.md), and the runs that did were restored guests (3 of
     * ~14 heavy pre-copy runs: two kernel faults, one VERIFY FAIL), while freshly booted guests with the
     * same pause verified 5 of 5. Default on; {@code --precopy-source restored} turns it off.
     */
    private boolean precopyBootsFresh = true;

    BenchRun withPrecopyBootingFresh(boolean on) {
        this.precopyBootsFresh = on;
        return this;
    }

    private boolean bootsFresh(BenchStrategy s) {
        return precopyBootsFresh && s == BenchStrategy.PRECOPY;
    }

    BenchRun withCompression(io.vmmig.strategy.peer.ChunkCompression c) {
        this.compression = c;
        return this;
    }

    /**
     * Neighbourhood dedup (the bench's dedup cells): the source fingerprints each piece of the matcher's
     * chunk size before sending it and the destination looks them up in {@code m}; null: off.
     */
    private io.vmmig.strategy.dedup.LocalChunkMatcher localChunks;

    BenchRun withDedup(io.vmmig.strategy.dedup.LocalChunkMatcher m) {
        this.localChunks = m;
        return this;
    }

    /**
     * The destination's data path for chunk strategies: the local data path (the agent's choice for a qcow2 disk
     * without a backing file), or with {@code agent} true the agent's NBD export in every guest I/O until the pivot
     * (the agent's choice for raw disks, disks with a backing file and libvirt domains), to measure one beside the other.
     */
    private boolean agentDataPath;

    BenchRun withAgentDataPath(boolean on) {
        this.agentDataPath = on;
        return this;
    }

    /** Whether each run ends by stopping both QEMUs and comparing the two images byte for byte (qemu-img compare). */
    private boolean compareImages;

    BenchRun withImageComparison(boolean on) {
        this.compareImages = on;
        return this;
    }

    /**
     * A run's result with the engine's report (null if the run failed before it) and, with
     * {@link #withImageComparison}, what comparing the source's and the destination's images said (null: not compared).
     */
    record Outcome(RunResult result, MigrationReport report, String imageCheck) {
        /** The run counts and, if compared, the images are identical. */
        boolean intact() {
            return result.ok() && (imageCheck == null || imageCheck.startsWith("Images are identical"));
        }
    }

    /** Where the QEMUs run: the source's on host A, the destination's on B, memory straight between them. */
    private final LabQemus hosts;

    BenchRun(NetworkLab lab, CrossLinks links, TestGuest guest, Map<BenchWorkload, GuestSnapshot> snapshots,
             BenchSizes sizes, Path workRoot) {
        this.lab = lab;
        this.links = links;
        this.guest = guest;
        this.snapshots = snapshots;
        this.sizes = sizes;
        this.workRoot = workRoot;
        try {
            this.hosts = LabQemus.create(lab, links.dir());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("writing the lab hosts' QEMU wrappers into " + links.dir(), e);
        }
    }

    static final int CORES = Runtime.getRuntime().availableProcessors();
    /** Cores others may keep busy when a pre-copy run starts: at least one stays free for the guest's QEMU. */
    static final double QUIET_CORES = Math.max(0.5, CORES - 1.0);
    static final Duration QUIET_WAIT = Duration.ofMinutes(3);

    /**
     * Before a pre-copy run: waits (up to {@link #QUIET_WAIT}) until the host's cores are not saturated by
     * others, sampled over 2 s, so the run's long TCG memory migration does not start on busy cores (where
     * QEMU 7.2 left stale guest RAM: shared/notes/tcg-stale-ram.md); runs anyway after that. Returns what
     * it saw, for the run's line.
     */
    static String awaitQuietHost() throws InterruptedException {
        long t0 = System.nanoTime();
        double busy;
        for (int samples = 0; (busy = HostCpu.coresBusyOver(Duration.ofSeconds(2), CORES)) > QUIET_CORES
                && System.nanoTime() - t0 < QUIET_WAIT.toNanos(); samples++) {
            if (samples % 15 == 0)
                System.out.printf("    host: %.1f of %d cores busy before a pre-copy run, waiting for at most %.1f%n", busy, CORES, QUIET_CORES);
        }
        double waited = (System.nanoTime() - t0) / 1e9;
        return String.format(" (%.1f busy before it%s)", busy,
                busy > QUIET_CORES ? ", still busy after " + QUIET_WAIT.toMinutes() + " min: ran anyway" : waited > 2.5
                        ? String.format(", after waiting %.0f s", waited) : "");
    }

    /** The 1-minute load average (/proc/loadavg), beside each figure: the machine is shared. */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    RunResult run(BenchStrategy s, BenchWorkload w, LinkProfile link, int repeat) {
        return outcome(s, w, link, repeat).result();
    }

    Outcome outcome(BenchStrategy s, BenchWorkload w, LinkProfile link, int repeat) {
        Deque<AutoCloseable> cleanup = new ArrayDeque<>();
        Path dir = null;
        try {
            dir = Files.createTempDirectory(workRoot, s.label() + "-" + w.label() + "-");
            return measure(s, w, link, repeat, dir, cleanup);
        } catch (Exception e) {
            String msg = e.getClass().getSimpleName() + ": " + e.getMessage();
            if (s.mirrorMode() != null && e instanceof java.util.concurrent.TimeoutException)
                msg = "did not converge: the mirror was not READY and migrated within " + MIRROR_LIMIT.toSeconds() + " s ("
                        + msg + ")";
            else if (e.getCause() != null) msg += " (cause: " + e.getCause() + ")";
            return new Outcome(RunResult.failed(s, w, link, repeat, msg), null, null);
        } finally {
            while (!cleanup.isEmpty()) {
                try {
                    cleanup.pop().close();
                } catch (Exception ignored) {
                    // best effort
                }
            }
            if (dir != null) deleteTree(dir);
        }
    }

    private Outcome measure(BenchStrategy s, BenchWorkload w, LinkProfile link, int repeat, Path dir,
                            Deque<AutoCloseable> cleanup) throws Exception {
        GuestSnapshot snapshot = snapshots.get(w);
        Workload workload = snapshot.workload();
        long diskBytes = snapshot.diskBytes();
        if (localChunks != null && (s.mirrorMode() != null || !s.movesDisk()))
            throw new IllegalArgumentException("dedup needs a strategy that sends chunks, not " + s.label());
        // the agent's choice for a qcow2 disk without a backing file: the local data path (ChunkTransferDestination)
        boolean localDataPath = s.movesDisk() && s.mirrorMode() == null && !agentDataPath;
        DiskImage dstDisk = DiskImage.create(dir.resolve("destination.qcow2"), DiskImage.Format.QCOW2, diskBytes,
                localDataPath ? ChunkTransferDestination.localImageOptions() : null);
        String quietHost = s == BenchStrategy.PRECOPY ? awaitQuietHost() : "";
        boolean freshBoot = bootsFresh(s);
        QemuProcess src = freshBoot ? snapshot.bootFresh("bench-src", dir.resolve("source.qcow2"), hosts)
                : snapshot.resume("bench-src", dir.resolve("source.qcow2"), hosts);
        cleanup.push(src);
        // Restored: the guest's clock stood still while it was saved, so the first report after the restore
        // counts. Booted: reports from the end of the prefill on (bootFresh waited for one).
        awaitReports(src.console(), freshBoot ? src.console().lineCount() : 0, REPORTS_BEFORE, w);
        QmpClient srcQmp = QmpClient.connect(src.qmpSocket());
        cleanup.push(srcQmp);
        ProbedNetwork net = snapshot.network();
        GuestProbe probe = net == null ? null : startProbe(net, srcQmp);
        if (probe != null) cleanup.push(probe);

        // Both timelines and this run's clock start together: the migration starts here.
        MigrationTimeline srcTimeline = new MigrationTimeline();
        MigrationTimeline dstTimeline = new MigrationTimeline();
        long start = System.nanoTime();
        HostCpu cpuAtStart = HostCpu.now();
        WireSampler wire = new WireSampler(lab, start, 250);
        cleanup.push(wire);
        SourceStrategy source;
        DestinationStrategy destination;
        OnDemandPullClock pulls = null;
        if (!s.movesDisk()) {
            source = SharedDisk.source();
            destination = SharedDisk.destination(dir.resolve("source.qcow2"), NODE);
        } else if (s.mirrorMode() == null) {
            SocketPeerChannel[] ends = peerChannel();
            pulls = new OnDemandPullClock(ends[1]);
            ChunkTransferDestination.Config dc = new ChunkTransferDestination.Config(ID,
                    dstDisk.path(), "qcow2", NODE, diskBytes, CHUNK, ChunkTransferDestination.DEFAULT_PULLERS, dir, TIMEOUT);
            if (localDataPath) dc = dc.withLocalDataPath();
            ChunkTransferDestination d = new ChunkTransferDestination(localChunks == null ? dc : dc.withLocalChunks(localChunks), pulls,
                    dstTimeline);
            cleanup.push(d);
            ChunkTransferSource c = new ChunkTransferSource(srcQmp, new ChunkTransferSource.Config(s.strategy(), ID, java.util.List.of(NODE),
                    CHUNK, SourceOptions.defaults().withThreshold(THRESHOLD).withCompression(compression)
                    .withDedup(localChunks == null ? 0 : localChunks.chunkSize()), Duration.ofMillis(300), dir, TIMEOUT,
                    ChunkTransferSource.PrecopyLimits.defaults()), ends[0], srcTimeline);
            cleanup.push(c);
            source = c;
            destination = d;
        } else {
            MirrorDestination d = new MirrorDestination(new MirrorDestination.Config(ID, dstDisk.path(), "qcow2", NODE,
                    links.dir(), TIMEOUT), dstTimeline);
            if (!d.socket().equals(links.nbd().destinationSide()))
                throw new IllegalStateException("mirror NBD socket " + d.socket() + " is not the forwarded "
                        + links.nbd().destinationSide());
            Files.deleteIfExists(d.socket());
            cleanup.push(d);
            Path viaLink = links.nbd().sourceSide();
            MirrorSource m = new MirrorSource(srcQmp, new MirrorSource.Config(ID, NODE, s.mirrorMode(), TIMEOUT),
                    d.exported().thenApply(t -> new MirrorTarget(viaLink, t.export())), srcTimeline);
            cleanup.push(m);
            source = m;
            destination = d;
        }

        QemuProcess[] dst = new QemuProcess[1];
        QmpClient[] dstQmp = new QmpClient[1];
        LocalPair pair = new LocalPair(ID, srcQmp, source, destination,
                // the memory settings the agent sets by default (max-bandwidth unlimited, not QEMU's 128 MiB/s)
                new SourceMigration.Options(ID, s.strategy(), s.label(), links.directMemory().spec(),
                        s.mirrorMode() == null ? TIMEOUT : MIRROR_LIMIT, null, io.vmmig.strategy.qemu.MemorySettings.defaults()),
                links.directMemory().spec(), srcTimeline, dstTimeline);
        MigrationReport report = pair.run(args -> {
            List<String> all = new ArrayList<>(args);
            all.addAll(List.of("-device", "virtio-blk-pci,drive=" + NODE + ",id=vda,share-rw=on"));
            QemuProcess.Builder b = QemuProcess.builder().name("bench-dst").memoryMb(sizes.ramMib()).guest(guest, workload)
                    .extraArgs(all).incomingDefer(true);
            dst[0] = (net == null ? hosts.on(io.vmmig.testkit.net.LabHost.B, b) : net.on(io.vmmig.testkit.net.LabHost.B, b)).start();
            cleanup.push(dst[0]);
            QmpClient q = QmpClient.connect(dst[0].qmpSocket());
            cleanup.push(q);
            dstQmp[0] = q;
            return q;
        }, () -> { }, () -> { });

        double coresBusy = HostCpu.now().coresBusySince(cpuAtStart, CORES);
        int mark = dst[0].console().lineCount();
        awaitReports(dst[0].console(), mark, REPORTS_AFTER + 1, w);
        wire.close();
        InterfaceCounters bytes = wire.delta();
        String verify = GuestIntegrity.verdict(verify(dst[0]), dst[0].console().lines().stream().map(ConsoleLine::text).toList());
        String imageCheck = compareImages ? compareImages(srcQmp, src, dstQmp[0], dst[0], dir.resolve("source.qcow2"), dstDisk.path()) : null;

        List<ConsoleLine> lines = Stream.concat(src.console().lines().stream(), dst[0].console().lines().stream())
                .sorted(Comparator.comparingLong(ConsoleLine::nanoTime)).toList();
        GuestThroughput tput = GuestThroughput.of(start, lines);
        // The destination's view: memory arrived and the guest runs there; the disk is local there.
        Duration arrived = dstTimeline.at(MigrationEvent.RUNNING_AT_DESTINATION);
        Duration finished = dstTimeline.at(MigrationEvent.FINISHED);
        long cutover = arrived == null ? report.cutoverMillis() : Math.max(report.cutoverMillis(), arrived.toMillis());
        long total = Math.max(report.totalMillis(), finished == null ? 0 : finished.toMillis());
        double end = total / 1000.0;
        long pause = Heartbeats.of(src.console().lines(), dst[0].console().lines()).consoleChanges().stream()
                .findFirst().map(g -> g.host().toMillis()).orElse(-1L);
        if (probe != null) printOutsideDowntime(probe, s, w, link, report.qemuDowntimeMillis(), pause);
        long onDemand = report.destination() == null ? 0 : report.destination().pulledOnDemand();
        io.vmmig.strategy.qemu.SourceReport sr = report.source();
        Duration memoryStarted = srcTimeline.at(MigrationEvent.MEMORY_STARTED);
        Duration switchedOver = srcTimeline.at(MigrationEvent.SWITCHED_OVER);
        double memorySeconds = memoryStarted == null || switchedOver == null ? -1
                : (switchedOver.toMillis() - memoryStarted.toMillis()) / 1000.0;
        LinkFill fill = LinkFill.of(wire.samples(), link, total, srcTimeline::at, dstTimeline::at);
        Duration held = srcTimeline.at(MigrationEvent.PUSH_HELD);
        String yield = held == null || switchedOver == null ? "" : String.format(", push held %.2f s before the switchover",
                (switchedOver.toMillis() - held.toMillis()) / 1000.0);
        io.vmmig.strategy.qemu.DestinationReport dr = report.destination();
        String dataPath = dr == null || !s.movesDisk() ? "" : dr.localDataPath()
                ? String.format(", local data path (hand-over applied in %d ms, guest run %d ms after its memory, QEMU read %.1f MiB from the agent,"
                        + " %d pulls not needed: written here)", dr.attachMillis(), dr.guestHeldMillis(), dr.agentReadBytes() / 1048576.0,
                        dr.cancelledByWrite())
                : String.format(", agent's data path (QEMU read %.1f MiB from the agent)", dr.agentReadBytes() / 1048576.0);
        System.out.printf("    %s %s %s: chunks raw %.1f MiB, wire %.1f MiB, compression %s (%d compressed, %d sent raw,"
                        + " %d ms compressing, adaptive %d/%d windows on); memory migration %.1f s%s (switched over aiming at %d ms),"
                        + " storage pause %d ms%s, source %s,"
                        + " %.1f of %d cores busy during the migration%s; total %.2f s, %s; load %s%n", s.label(), w.label(), link.label(),
                sr.chunkRawBytes() / 1048576.0, sr.chunkWireBytes() / 1048576.0, sr.compression().mode(),
                sr.compression().compressedChunks(), sr.compression().incompressibleChunks(), sr.compression().compressMillis(),
                sr.compression().windowsOn(), sr.compression().windows(), memorySeconds, yield, pair.downtimeTargetMillis(), sr.pauseMillis(), dataPath,
                freshBoot ? "booted fresh" : "restored", coresBusy, CORES, quietHost, total / 1000.0, fill.describe(), loadAverage());
        return new Outcome(new RunResult(s, w, link, repeat, total, cutover, report.totalMillis(), report.cutoverMillis(),
                report.qemuDowntimeMillis(),
                pause, bytes.txBytes(), bytes.rxBytes(), report.diskBytesMoved(), report.ramBytes(),
                tput.before(REPORTS_BEFORE), tput.during(end), tput.after(end), onDemand,
                pulls == null ? List.of() : pulls.roundTripsMicros(),
                report.source().iterationLimitHit(), verify, wire.samples(), fill, tput.samples(), null), report, imageCheck);
    }

    /**
     * Quits both QEMUs (so each image is closed with its metadata written) and compares the images' contents
     * with {@code qemu-img compare}: for a run whose guest stopped writing before the migration (idle), the
     * destination must hold exactly the source's disk. Returns qemu-img's line ("Images are identical." or where
     * they differ).
     */
    private static String compareImages(QmpClient srcQmp, QemuProcess src, QmpClient dstQmp, QemuProcess dst, Path source, Path target) {
        for (QmpClient q : new QmpClient[] {dstQmp, srcQmp}) {
            try {
                QmpClient.join(q.quit());
            } catch (RuntimeException e) {
                // the connection closing as QEMU exits is the answer too
            }
        }
        for (QemuProcess p : new QemuProcess[] {dst, src}) {
            if (p.awaitExit(Duration.ofSeconds(30)).isEmpty())
                return "not compared: QEMU " + p + " did not exit 30 s after quit";
        }
        io.vmmig.testkit.HostCommand.Result r = io.vmmig.testkit.HostCommand.attempt(null, Duration.ofMinutes(5),
                List.of("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", source.toString(), target.toString()));
        return r.output().strip().lines().reduce((a, b) -> b).orElse("qemu-img compare exited " + r.exitCode());
    }

    /**
     * The outside probe of a run with {@code --outside-probe}: the restored source announces itself (the
     * switch may still have the guest where the last run left it, on B), then answers must come.
     */
    private static GuestProbe startProbe(ProbedNetwork net, QmpClient srcQmp) {
        srcQmp.call(new io.vmmig.qmp.command.QmpCommands.AnnounceSelf(50, 550, 5, 100));
        GuestProbe probe = net.lan().probe(ProbedNetwork.INTERVAL);
        if (!probe.awaitAnswers(20, java.time.Instant.EPOCH, Duration.ofMinutes(1))) {
            probe.close();
            throw new IllegalStateException("the restored guest does not answer the outside probe: " + probe.record().summary());
        }
        return probe;
    }

    /** After the run: waits for answers from the destination and prints the downtime three ways. */
    private static void printOutsideDowntime(GuestProbe probe, BenchStrategy s, BenchWorkload w, LinkProfile link, long qemuMillis,
                                             long pauseMillis) {
        boolean answered = probe.awaitAnswers(20, java.time.Instant.now(), Duration.ofMinutes(1));
        ProbeRecord rec = probe.record();
        String outside = !answered ? "no answers after the migration (" + rec.summary() + ")"
                : rec.longestGap().map(g -> g.duration().toMillis() + " ms (" + g.unanswered() + " probes unanswered)").orElse("n/a");
        System.out.printf("    %s %s %s: downtime QEMU %d ms, guest heartbeat gap %d ms, from outside %s; load %s%n", s.label(),
                w.label(), link.label(), qemuMillis, pauseMillis, outside, loadAverage());
    }

    /** A connected peer channel pair across the link: [source end, destination end]. */
    private SocketPeerChannel[] peerChannel() throws IOException {
        Path listen = links.peer().destinationSide();
        Files.deleteIfExists(listen);
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(listen));
            SocketPeerChannel toDestination = SocketPeerChannel.connect(UnixDomainSocketAddress.of(links.peer().sourceSide()));
            SocketPeerChannel fromSource = new SocketPeerChannel(server.accept());
            return new SocketPeerChannel[] {toDestination, fromSource};
        } finally {
            Files.deleteIfExists(listen);
        }
    }

    /**
     * Waits for {@code n} TPUT reports at or after line {@code from}. Not for the idle workload: it writes
     * nothing, so its throughput is 0 by construction and waiting for reports would only cost time.
     */
    private static void awaitReports(SerialConsole console, int from, int n, BenchWorkload w) {
        if (w == BenchWorkload.IDLE) return;
        int at = from;
        for (int i = 0; i < n; i++) at = console.awaitLine(TPUT, Duration.ofSeconds(10), at).index() + 1;
    }

    private static String verify(QemuProcess where) {
        int mark = where.console().lineCount();
        where.console().send("verify");
        return where.console().awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofMinutes(2), mark).text();
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
