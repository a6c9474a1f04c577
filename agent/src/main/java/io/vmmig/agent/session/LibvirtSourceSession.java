package io.vmmig.agent.session;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.GuestLocation;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.agent.daemon.CauseChain;
import io.vmmig.agent.daemon.MigrationRecord;
import io.vmmig.agent.peer.PeerConnector;
import io.vmmig.agent.peer.PeerTransportException;
import io.vmmig.agent.peer.PeerUnauthorizedException;
import io.vmmig.libvirt.DomainDisk;
import io.vmmig.libvirt.DomainException;
import io.vmmig.libvirt.DomainXml;
import io.vmmig.libvirt.HandOverBackend;
import io.vmmig.libvirt.HeldImage;
import io.vmmig.libvirt.ImageExport;
import io.vmmig.libvirt.ImageMap;
import io.vmmig.libvirt.LibvirtDomain;
import io.vmmig.libvirt.LibvirtHost;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.source.PushBandwidth;
import io.vmmig.strategy.source.SourceDiskTransfer;
import io.vmmig.strategy.source.SourceOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source agent's side of a libvirt domain's migration (hybrid, libvirt owning QEMU at both ends):
 * <ol>
 * <li>reads the domain from libvirt, checks it (disks it can move, no block job, no snapshot metadata) and
 *     has the destination prepare an NBD export and a final image per disk;</li>
 * <li>freezes the disks with an external disk-only snapshot without metadata (the images stop changing; the
 *     overlays take the guest's writes) and pushes the frozen images' data while the guest runs;</li>
 * <li>has libvirt migrate the domain ({@code migrateToURI3}, peer to peer, UNSAFE, the destination definition
 *     with each disk on the destination agent's NBD socket, the persistent one on the final image);</li>
 * <li>once libvirt's Confirm stopped the source QEMU, hands each destination its final dirty set (the
 *     overlay's map) and serves its pull from the image files as the guest left them (kept open by fd).</li>
 * </ol>
 * Any failure before the migration call returned thaws the disks (libvirt's active block commit + pivot): the
 * domain runs on here with its definition as before.
 */
public final class LibvirtSourceSession implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(LibvirtSourceSession.class);

    /** What the operator asked for. */
    public record Request(String domain, String destHost, int destPort, Integer chunkSize, Long bandwidth, Integer threshold) {}

    /** One disk on its way. */
    private static final class MovingDisk {
        final DomainDisk disk;
        final long size;
        Path overlay;
        HeldImage base;
        HeldImage top;
        ImageExport frozen;
        ImageExport last;
        HandOverBackend backend;
        SourceDiskTransfer transfer;
        PeerChannel channel;
        ChunkGeometry geometry;
        long dirtyBytes;

        MovingDisk(DomainDisk disk, long size) {
            this.disk = disk;
            this.size = size;
        }
    }

    private final AgentConfig config;
    private final PeerConnector connector;
    private final MigrationRecord record;
    private final Request request;
    private final CompletableFuture<String> cancelled = new CompletableFuture<>();
    private volatile ControlLink link;
    private volatile LibvirtDomain domain;
    private volatile boolean inLibvirtMigration;
    private volatile boolean switched;

    public LibvirtSourceSession(AgentConfig config, PeerConnector connector, MigrationRecord record, Request request) {
        this.config = config;
        this.connector = connector;
        this.record = record;
        this.request = request;
        record.onCancel(this::cancel);
    }

    private void cancel(String reason) {
        cancelled.complete(reason);
        LibvirtDomain d = domain;
        if (d != null && inLibvirtMigration && !switched) d.abortJob();
        ControlLink l = link;
        if (l != null) l.trySend(new PeerMessage.Cancel(reason));
    }

    @Override
    public void run() {
        try {
            record.complete(migrate());
        } catch (Exception e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            LOG.debug("migration {} failed", record.id(), e);
            ErrorKind kind = e instanceof AgentException a ? a.kind() : ErrorKind.FAILED;
            if (cancelled.isDone() && !switched) kind = ErrorKind.CANCELLED;
            if (switched) kind = ErrorKind.FAILED;
            LibvirtDomain d = domain;
            record.fail(kind, CauseChain.of(e), GuestLocation.of(d == null ? null : d.runState(), null));
        }
    }

    private void checkCancelled() throws AgentException {
        if (cancelled.isDone()) throw new AgentException(ErrorKind.CANCELLED, "cancelled: " + cancelled.join());
    }

    private static AgentException of(DomainException e) {
        ErrorKind k = switch (e.reason()) {
            case UNREACHABLE -> ErrorKind.UNREACHABLE;
            case NOT_FOUND -> ErrorKind.NOT_FOUND;
            case NOT_MOVABLE -> ErrorKind.ENVIRONMENT;
            case LIBVIRT -> ErrorKind.FAILED;
        };
        return new AgentException(k, e.getMessage(), e);
    }

    private ControlEvent.Report migrate() throws Exception {
        String id = record.id();
        Duration timeout = config.timeout();
        Path workDir = Files.createDirectories(config.stateDir().resolve("m").resolve(id));
        List<MovingDisk> disks = new ArrayList<>();
        boolean frozen = false;
        LibvirtHost host = open(config.libvirt().uri());
        try {
            LibvirtDomain dom;
            try {
                dom = host.domain(request.domain());
            } catch (DomainException e) {
                throw of(e);
            }
            domain = dom;
            String migratable;
            String inactive;
            boolean persistent;
            List<DomainDisk> all;
            List<String> leftAlone = new ArrayList<>();
            try {
                all = DomainXml.parse(dom.liveXml()).disks();
                for (DomainDisk d : all) {
                    String why = d.whyNotMovable();
                    if (why == null) continue;
                    // a local writable file libvirt would migrate "unsafe" without its data: refuse rather than lose it
                    if ("disk".equals(d.device()) && "file".equals(d.type()) && !d.readOnly() && !d.shared())
                        throw new AgentException(ErrorKind.ENVIRONMENT, "domain " + dom.name() + ": disk " + d.target() + " ("
                                + d.source() + ") cannot be moved: " + why + "; the guest keeps running here");
                    leftAlone.add(d.target() + " (" + why + ")");
                }
                List<DomainDisk> moving = all.stream().filter(DomainDisk::movable).toList();
                if (moving.isEmpty())
                    throw new AgentException(ErrorKind.ENVIRONMENT, "domain " + dom.name() + " has no local disk vmmig can move"
                            + (leftAlone.isEmpty() ? "" : ": " + String.join(", ", leftAlone)));
                dom.checkMigratable(moving);
                persistent = dom.persistent();
                migratable = dom.migratableXml();
                inactive = persistent ? dom.inactiveXml() : null;
                for (DomainDisk d : moving) disks.add(new MovingDisk(d, virtualSize(d.source())));
            } catch (DomainException e) {
                throw of(e);
            }
            if (!leftAlone.isEmpty()) LOG.info("migration {}: left alone (not moved): {}", id, String.join(", ", leftAlone));
            int chunk = request.chunkSize() != null ? request.chunkSize() : 256 * 1024;
            checkCancelled();

            try (ControlLink control = new ControlLink(connect("", new byte[0]))) {
                link = control;
                List<PeerMessage.DomainDiskPlan> plans = disks.stream().map(m -> new PeerMessage.DomainDiskPlan(m.disk.target(),
                        m.disk.format(), m.size, Path.of(m.disk.source()).getFileName().toString())).toList();
                control.send(new PeerMessage.PrepareDomain(id, dom.name(), dom.uuid(), chunk, persistent, plans));
                PeerMessage.PreparedDomain prepared = expectPrepared(control, timeout);
                Map<String, PeerMessage.DomainDiskTarget> targets = new LinkedHashMap<>();
                for (PeerMessage.DomainDiskTarget t : prepared.disks()) targets.put(t.target(), t);
                for (MovingDisk m : disks) {
                    PeerMessage.DomainDiskTarget t = targets.get(m.disk.target());
                    if (t == null) throw new AgentException(ErrorKind.FAILED, "the destination prepared no target for " + m.disk.target());
                    m.channel = connect(id + "." + m.disk.target(), Base64.getDecoder().decode(t.token()));
                    m.geometry = new ChunkGeometry(m.size, chunk);
                    m.overlay = Path.of(m.disk.source() + ".vmmig-" + id);
                }
                checkCancelled();

                // freeze: from here on a failure before the switchover thaws the disks
                for (MovingDisk m : disks) m.base = HeldImage.open(Path.of(m.disk.source()));
                Map<String, Path> overlays = new LinkedHashMap<>();
                for (MovingDisk m : disks) overlays.put(m.disk.target(), m.overlay);
                try {
                    dom.freeze(overlays, all, "vmmig-" + id);
                } catch (DomainException e) {
                    throw of(e);
                }
                frozen = true;
                record.phase(MigrationPhase.PUSHING);
                // one link budget for the domain: every disk's push draws on the same bucket
                SourceOptions options = pushOptions();
                PushBandwidth linkBudget = new PushBandwidth(options.pushBytesPerSecond());
                for (MovingDisk m : disks) {
                    m.top = HeldImage.open(m.overlay);
                    String spec = ImageExport.spec(m.disk.format(), m.base.procPath(), null, null);
                    m.frozen = ImageExport.start(spec, workDir.resolve("frozen-" + m.disk.target() + ".sock"));
                    BitSet data = ImageMap.of(spec).dataChunks(m.geometry);
                    m.backend = new HandOverBackend(m.frozen.backend());
                    m.transfer = new SourceDiskTransfer(m.geometry, m.backend, data, m.channel, options, linkBudget);
                    m.transfer.start();
                    LOG.info("migration {}: {} frozen under {}; pushing {} of {} chunks", id, m.disk.target(), m.overlay,
                            data.cardinality(), m.geometry.count());
                }
                awaitPushed(disks, timeout);
                checkCancelled();

                Map<String, String> sockets = new LinkedHashMap<>();
                Map<String, DomainXml.LocalFile> files = new LinkedHashMap<>();
                for (MovingDisk m : disks) {
                    sockets.put(m.disk.target(), targets.get(m.disk.target()).nbdSocket());
                    files.put(m.disk.target(), new DomainXml.LocalFile(targets.get(m.disk.target()).image(), m.disk.format()));
                }
                String destXml = DomainXml.parse(migratable).withNbdDisks(sockets, ImageExport.EXPORT);
                String persistXml = inactive == null ? null : DomainXml.parse(inactive).withFileDisks(files);
                record.phase(MigrationPhase.MEMORY);
                long memStart = System.nanoTime();
                // libvirt migrates on a thread of its own; the hand-over comes at the first of: the source paused for
                // the switchover (its images are flushed and no longer written), or libvirt's migration call returned
                CompletableFuture<Long> paused = new CompletableFuture<>();
                CompletableFuture<Void> migrated = new CompletableFuture<>();
                long handStart;
                long pausedAt;
                try (AutoCloseable watch = host.onPausedForMigration(dom.uuid(), () -> paused.complete(System.nanoTime()))) {
                    inLibvirtMigration = true;
                    checkCancelled();
                    Thread mt = new Thread(() -> {
                        try {
                            dom.migrate(prepared.libvirtUri(), destXml, persistXml, persistent);
                            migrated.complete(null);
                        } catch (Throwable t) {
                            migrated.completeExceptionally(t);
                        }
                    }, "vmmig-libvirt-migrate-" + id);
                    mt.setDaemon(true);
                    mt.start();
                    CompletableFuture.anyOf(paused, migrated).exceptionally(t -> null).join();
                    if (migrated.isCompletedExceptionally()) awaitMigrated(migrated);
                    pausedAt = paused.getNow(System.nanoTime());
                    record.phase(MigrationPhase.CUTOVER);
                    handStart = System.nanoTime();
                    for (MovingDisk m : disks) {
                        String last = ImageExport.spec("qcow2", m.top.procPath(), m.disk.format(), m.base.procPath());
                        BitSet dirty = ImageMap.of(last).topChunks(m.geometry);
                        m.dirtyBytes = (long) dirty.cardinality() * chunk;
                        m.last = ImageExport.start(last, workDir.resolve("last-" + m.disk.target() + ".sock"));
                        m.backend.handOver(m.last.backend());
                        m.transfer.cutover(dirty, timeout);
                    }
                    awaitMigrated(migrated);
                } finally {
                    inLibvirtMigration = false;
                }
                // libvirt's Confirm ended: the source QEMU is gone, the guest runs at the destination
                switched = true;
                long migrateMillis = (System.nanoTime() - memStart) / 1_000_000;
                record.phase(MigrationPhase.PULLING);
                long handOverMillis = Math.max(0, (System.nanoTime() - handStart) / 1_000_000);
                long handedAfterPause = Math.max(0, (handStart - pausedAt) / 1_000_000);
                LOG.info("migration {}: libvirt migrated the domain in {} ms; final dirty sets handed over {} ms after the source paused"
                        + " ({}: the pause event)", id, migrateMillis, handedAfterPause, paused.isDone() ? "after" : "no");
                for (MovingDisk m : disks) m.transfer.finished().get();
                PeerMessage.Finished f = control.expect(PeerMessage.Finished.class, Duration.ofDays(1));
                record.phase(MigrationPhase.FINISHING);
                ObjectNode report = ControlCodec.mapper().createObjectNode();
                report.put("strategy", "hybrid").put("domain", dom.name()).put("totalMillis", record.elapsedMillis())
                        .put("libvirtMigrateMillis", migrateMillis).put("handOverAfterPauseMillis", handedAfterPause)
                        .put("handOverToConfirmMillis", handOverMillis);
                var arr = report.putArray("disks");
                StringBuilder summary = new StringBuilder("migration " + id + " (hybrid, libvirt domain " + dom.name() + "): total "
                        + record.elapsedMillis() + " ms, libvirt migrate " + migrateMillis + " ms, final dirty set sent "
                        + handedAfterPause + " ms after the source paused");
                for (MovingDisk m : disks) {
                    var c = m.transfer.counters();
                    arr.addObject().put("target", m.disk.target()).put("format", m.disk.format()).put("size", m.size)
                            .put("pushedBytes", c.pushedBytes.get()).put("pulledBytes", c.pulledBytes.get())
                            .put("dirtyAtSwitchoverBytes", m.dirtyBytes).put("image", targets.get(m.disk.target()).image());
                    summary.append("; ").append(m.disk.target()).append(": pushed ").append(c.pushedBytes.get()).append(" B, pulled ")
                            .append(c.pulledBytes.get()).append(" B");
                }
                if (!leftAlone.isEmpty()) {
                    report.put("leftAlone", String.join(", ", leftAlone));
                    summary.append("; left alone: ").append(String.join(", ", leftAlone));
                }
                report.set("destination", f.report());
                if (f.report().has("readsHeldAfterResumeMillis"))
                    summary.append("; the destination guest's disk reads waited ").append(f.report().path("readsHeldAfterResumeMillis").asLong())
                            .append(" ms from libvirt's resume for the final dirty set");
                return new ControlEvent.Report(id, report, summary.toString());
            }
        } catch (Exception e) {
            if (frozen && !switched) thaw(disks);
            throw e;
        } finally {
            for (MovingDisk m : disks) close(m, switched);
            host.close();
            RestartRecovery.removeDir(workDir.toString());
        }
    }

    /** Waits for libvirt's migration call; its failure as the migration's (cancelled if the operator asked). */
    private void awaitMigrated(CompletableFuture<Void> migrated) throws AgentException, InterruptedException {
        try {
            migrated.get();
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause();
            if (cancelled.isDone()) throw new AgentException(ErrorKind.CANCELLED, "cancelled: " + cancelled.join(), c);
            if (c instanceof DomainException d) throw of(d);
            throw new AgentException(ErrorKind.FAILED, "libvirt's migration: " + c, c);
        }
    }

    private static LibvirtHost open(String uri) throws AgentException {
        try {
            return LibvirtHost.open(uri);
        } catch (DomainException e) {
            throw of(e);
        }
    }

    private PeerMessage.PreparedDomain expectPrepared(ControlLink control, Duration timeout) throws Exception {
        PeerMessage m = control.receive(timeout);
        if (m instanceof PeerMessage.PreparedDomain p) return p;
        if (m instanceof PeerMessage.Failed f)
            throw new AgentException(f.kind(), "destination " + control.remote() + ": " + f.message() + "; the guest keeps running here");
        throw new AgentException(ErrorKind.FAILED, "destination " + control.remote() + " answered " + m + " to the prepare");
    }

    /** Waits until every disk's push caught up with its frozen image (checked every 50 ms; the transfer has no event for it). */
    private void awaitPushed(List<MovingDisk> disks, Duration timeout) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vmmig-push-watch-" + record.id());
            t.setDaemon(true);
            return t;
        });
        try {
            s.scheduleAtFixedRate(() -> {
                if (cancelled.isDone()) done.complete(null);
                for (MovingDisk m : disks) {
                    if (m.transfer.finished().isCompletedExceptionally()) {
                        m.transfer.finished().whenComplete((v, e) -> done.completeExceptionally(e));
                        return;
                    }
                    if (!m.transfer.caughtUp()) return;
                }
                done.complete(null);
            }, 0, 50, TimeUnit.MILLISECONDS);
            done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } finally {
            s.shutdownNow();
        }
    }

    /** Before the switchover: the disks back on their images (libvirt's active commit + pivot), overlays removed. */
    private void thaw(List<MovingDisk> disks) {
        LibvirtDomain d = domain;
        for (MovingDisk m : disks) {
            if (m.transfer != null) m.transfer.cancel("the source gave up before the switchover");
            if (m.frozen != null) m.frozen.close();
            try {
                d.thaw(m.disk.target(), config.timeout());
                Files.deleteIfExists(m.overlay);
                LOG.info("migration {}: {} back on {} (overlay committed and removed)", record.id(), m.disk.target(), m.disk.source());
            } catch (Exception e) {
                LOG.warn("migration {}: cannot put {} back on {}: {}; the guest runs on the overlay {}", record.id(), m.disk.target(),
                        m.disk.source(), CauseChain.of(e), m.overlay);
            }
        }
    }

    private void close(MovingDisk m, boolean switched) {
        if (m.transfer != null) m.transfer.close();
        if (m.channel != null) m.channel.close();
        if (m.frozen != null) m.frozen.close();
        if (m.last != null) m.last.close();
        try {
            if (m.base != null) m.base.close();
            if (m.top != null) m.top.close();
            // the guest lives at the destination now: the overlay was vmmig's, the image stays as libvirt would leave it
            if (switched && m.overlay != null) Files.deleteIfExists(m.overlay);
        } catch (java.io.IOException e) {
            LOG.warn("migration {}: closing {}: {}", record.id(), m.disk.target(), e.toString());
        }
    }

    private static long virtualSize(String image) throws AgentException {
        try {
            Process p = new ProcessBuilder("qemu-img", "info", "-U", "--output=json", image).start();
            byte[] out = p.getInputStream().readAllBytes();
            String err = new String(p.getErrorStream().readAllBytes()).trim();
            if (p.waitFor() != 0) throw new AgentException(ErrorKind.ENVIRONMENT, "qemu-img info " + image + ": " + err);
            return ControlCodec.mapper().readTree(out).path("virtual-size").asLong();
        } catch (java.io.IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "qemu-img info " + image + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AgentException(ErrorKind.FAILED, "interrupted", e);
        }
    }

    private SourceOptions pushOptions() {
        SourceOptions o = SourceOptions.defaults();
        if (request.threshold() != null) o = o.withThreshold(request.threshold());
        if (request.bandwidth() != null) o = o.withPushBytesPerSecond(request.bandwidth());
        return o;
    }

    private PeerChannel connect(String migrationId, byte[] token) throws AgentException {
        String where = request.destHost() + ":" + request.destPort();
        try {
            return connector.connect(request.destHost(), request.destPort(), migrationId, token, Duration.ofSeconds(30));
        } catch (PeerUnauthorizedException e) {
            throw new AgentException(ErrorKind.UNAUTHORIZED, "destination agent " + where + " refused us: " + e.getMessage(), e);
        } catch (PeerTransportException e) {
            throw new AgentException(ErrorKind.UNREACHABLE, "destination agent " + where + ": " + e.getMessage(), e);
        }
    }
}
