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
import io.vmmig.agent.daemon.MigrationJournal;
import io.vmmig.agent.daemon.MigrationRecord;
import io.vmmig.agent.daemon.MigrationRegistry;
import io.vmmig.agent.peer.ClientIdentity;
import io.vmmig.agent.peer.TokenIssuer;
import io.vmmig.libvirt.DomainException;
import io.vmmig.libvirt.ImageExport;
import io.vmmig.libvirt.LibvirtDomain;
import io.vmmig.libvirt.LibvirtHost;
import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.nbd.server.NbdExport;
import io.vmmig.nbd.server.NbdServer;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.destination.DestinationDiskTransfer;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.source.PushBandwidth;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination agent's side of a libvirt domain's migration. Per disk: a sparse work file as the store,
 * the hybrid transfer from the source on its own data connection, and an NBD server on a UNIX socket that the
 * destination QEMU libvirt starts opens as the disk; reads wait for the final dirty set (no hold point under
 * libvirt: the guest may run here before the source knows what it wrote last). When a disk is complete,
 * libvirt's own block copy moves it onto the final image and pivots, and the agent leaves the I/O path.
 * A migration that fails or is cancelled while libvirt has no running domain here leaves nothing.
 */
final class LibvirtDestinationSession {
    private static final Logger LOG = LoggerFactory.getLogger(LibvirtDestinationSession.class);

    private static final class IncomingDisk {
        final PeerMessage.DomainDiskPlan plan;
        Path work;
        Path image;
        Path socket;
        LocalFileBackend store;
        DestinationDiskTransfer transfer;
        NbdServer server;
        long pivotMillis;

        IncomingDisk(PeerMessage.DomainDiskPlan plan) {
            this.plan = plan;
        }
    }

    private final AgentConfig config;
    private final TokenIssuer tokens;
    private final MigrationRegistry registry;
    private final ControlLink link;
    private final ClientIdentity client;

    LibvirtDestinationSession(AgentConfig config, TokenIssuer tokens, MigrationRegistry registry, ControlLink link, ClientIdentity client) {
        this.config = config;
        this.tokens = tokens;
        this.registry = registry;
        this.link = link;
        this.client = client;
    }

    void run(MigrationRecord record, PeerMessage.PrepareDomain p) {
        String id = p.id();
        Duration timeout = config.timeout();
        List<IncomingDisk> disks = new ArrayList<>();
        Path workDir = config.stateDir().resolve("m").resolve(id);
        CompletableFuture<String> cancelled = new CompletableFuture<>();
        LibvirtHost host = null;
        Path incoming = null;
        AutoCloseable startedWatch = null;
        AutoCloseable resumedWatch = null;
        java.util.concurrent.atomic.AtomicLong resumedNanos = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong handedOverNanos = new java.util.concurrent.atomic.AtomicLong();
        CompletableFuture<Void> incomingStarted = new CompletableFuture<>();
        try {
            // durable state before action: a restarted agent removes what this migration created by these
            record.fact(MigrationJournal.LIBVIRT_DOMAIN, p.uuid());
            record.fact(MigrationJournal.WORK_DIR, workDir.toString());
            try {
                host = LibvirtHost.open(config.libvirt().uri());
            } catch (DomainException e) {
                throw new AgentException(ErrorKind.UNREACHABLE, e.getMessage(), e);
            }
            if (host.hasDomain(p.domain()))
                throw new AgentException(ErrorKind.BAD_REQUEST, "a domain named " + p.domain() + " is already defined at the destination's libvirtd");
            Files.createDirectories(workDir);
            Path dir = config.imageDirs().get(0);
            Files.createDirectories(dir);
            for (PeerMessage.DomainDiskPlan d : p.disks()) {
                IncomingDisk in = new IncomingDisk(d);
                in.image = dir.resolve(d.imageName());
                if (Files.exists(in.image))
                    throw new AgentException(ErrorKind.BAD_REQUEST, "the target image " + in.image + " of " + d.target() + " exists at the destination");
                disks.add(in);
            }
            List<PeerMessage.DomainDiskTarget> targets = new ArrayList<>();
            List<CompletableFuture<PeerChannel>> data = new ArrayList<>();
            for (int i = 0; i < disks.size(); i++) record.fact(MigrationJournal.image(i), disks.get(i).image.toString());
            for (IncomingDisk in : disks) {
                PeerMessage.DomainDiskPlan d = in.plan;
                QemuImgTool.create(in.image, d.format(), d.virtualSize(), null);
                in.work = workDir.resolve(d.target() + ".work");
                try (RandomAccessFile f = new RandomAccessFile(in.work.toFile(), "rw")) {
                    f.setLength(d.virtualSize());
                }
                in.socket = workDir.resolve(d.target() + "-nbd.sock");
                String sub = id + "." + d.target();
                byte[] token = tokens.issue(sub, client.subject(), config.tokenTtl());
                data.add(registry.expectData(sub));
                targets.add(new PeerMessage.DomainDiskTarget(d.target(), in.socket.toString(), in.image.toString(),
                        Base64.getEncoder().encodeToString(token)));
            }
            // Reads before the final dirty set: QEMU's own probe of the disk while libvirt starts it (Prepare) is
            // served from the source's frozen image, as the plain path serves it; from libvirt's STARTED/MIGRATED on
            // (Prepare done, no memory sent yet, so the guest cannot run here yet) every read waits for the hand-over.
            startedWatch = host.onIncomingStarted(p.uuid(), () -> {
                for (IncomingDisk in : disks) {
                    if (in.transfer != null) in.transfer.disk().holdReadsUntilHandover();
                }
                incomingStarted.complete(null);
                LOG.info("migration {}: libvirt started {} here for the incoming migration: reads wait for the final dirty set", id, p.domain());
            });
            // the guest-visible cost of having no hold point: from libvirt resuming the guest here to the hand-over
            // ... and the moment the background pull may start: before it, QEMU's last pages and device state cross the link
            resumedWatch = host.onIncomingResumed(p.uuid(), () -> {
                resumedNanos.compareAndSet(0, System.nanoTime());
                for (IncomingDisk in : disks) {
                    if (in.transfer != null) in.transfer.puller().guestRunsHere();
                }
            });
            // what the libvirt hook (50-vmmig, libvirt.hook-refuse-unprepared) looks for at "migrate begin"
            incoming = Files.createDirectories(config.stateDir().resolve("libvirt-incoming")).resolve(p.domain());
            record.fact(MigrationJournal.LIBVIRT_INCOMING, incoming.toString());
            Files.writeString(incoming, id + "\n");
            link.send(new PeerMessage.PreparedDomain(config.libvirt().migrationUri(), targets));
            record.phase(MigrationPhase.PUSHING);
            Thread reader = new Thread(() -> {
                try {
                    while (true) {
                        PeerMessage m = link.receive(Duration.ofDays(1));
                        if (m instanceof PeerMessage.Cancel c) cancelled.complete("cancelled by the source: " + c.reason());
                    }
                } catch (AgentException | InterruptedException e) {
                    cancelled.complete("the source went away: " + e.getMessage());
                }
            }, "vmmig-dst-control-" + id);
            reader.setDaemon(true);
            reader.start();

            // one link budget for the domain: every disk's background pull draws on the same bucket (pull-bandwidth)
            PushBandwidth pullBudget = new PushBandwidth(config.pullBandwidth());
            for (int i = 0; i < disks.size(); i++) {
                IncomingDisk in = disks.get(i);
                PeerChannel ch = awaitOrCancel(data.get(i), cancelled, timeout, "the data connection of " + in.plan.target());
                in.store = LocalFileBackend.open(in.work, false);
                ChunkGeometry g = new ChunkGeometry(in.plan.virtualSize(), p.chunkSize());
                in.transfer = new DestinationDiskTransfer(g, in.store, ch, io.vmmig.strategy.qemu.ChunkTransferDestination.DEFAULT_PULLERS);
                if (incomingStarted.isDone()) in.transfer.disk().holdReadsUntilHandover();
                in.transfer.puller().limitBackground(pullBudget);
                in.transfer.puller().holdBackgroundUntilGuestRuns();
                in.transfer.disk().reportAllocation();   // the block copy onto the final image skips the zeros
                if (resumedNanos.get() != 0) in.transfer.puller().guestRunsHere();
                in.server = NbdServer.start(UnixDomainSocketAddress.of(in.socket),
                        List.of(new NbdExport(ImageExport.EXPORT, "vmmig " + id + " " + in.plan.target(), in.transfer.disk())));
                in.transfer.disk().handover().thenRun(() -> handedOverNanos.accumulateAndGet(System.nanoTime(), Math::max));
                in.transfer.start();
            }
            record.phase(MigrationPhase.MEMORY);
            for (IncomingDisk in : disks) awaitOrCancel(in.transfer.complete(), cancelled, Duration.ofDays(3650), "the disk " + in.plan.target());
            // the disks are whole, so the final dirty set came: libvirt's Finish resumed the guest here
            record.phase(MigrationPhase.PULLING);
            LibvirtDomain dom;
            try {
                dom = host.domain(p.uuid());
            } catch (DomainException e) {
                throw new AgentException(ErrorKind.FAILED, "the disks arrived but libvirt here has no domain " + p.domain() + ": " + e.getMessage(), e);
            }
            record.phase(MigrationPhase.FINISHING);
            for (IncomingDisk in : disks) {
                long t0 = System.nanoTime();
                try {
                    // after the pull, not beside it: the copy's reads share the guest's NBD connection, and a read
                    // waiting for a missing chunk holds up the guest's requests behind it
                    dom.pivotTo(in.plan.target(), in.image.toString(), in.plan.format(), Duration.ofDays(1));
                } catch (DomainException e) {
                    throw new AgentException(ErrorKind.FAILED, e.getMessage() + "; the guest runs here on the agent's NBD export", e);
                }
                in.pivotMillis = (System.nanoTime() - t0) / 1_000_000;
                LOG.info("migration {}: {} of {} now on {} (libvirt block copy + pivot, {} ms)", id, in.plan.target(), p.domain(), in.image, in.pivotMillis);
                release(in);
            }
            ObjectNode report = ControlCodec.mapper().createObjectNode();
            if (resumedNanos.get() != 0 && handedOverNanos.get() != 0)
                report.put("readsHeldAfterResumeMillis", Math.max(0, (handedOverNanos.get() - resumedNanos.get()) / 1_000_000));
            var arr = report.putArray("disks");
            for (IncomingDisk in : disks)
                arr.addObject().put("target", in.plan.target()).put("image", in.image.toString()).put("receivedPushBytes", in.transfer.pushedBytes())
                        .put("pulledBytes", in.transfer.pulledBytes()).put("pivotMillis", in.pivotMillis);
            link.trySend(new PeerMessage.Finished(report));
            record.guest(GuestLocation.of(null, dom.runState()));
            record.complete(new ControlEvent.Report(id, report, "destination of " + id + ": " + p.domain() + " runs here on " + disks.stream()
                    .map(d -> d.image.toString()).toList()));
            deleteTree(workDir);
        } catch (Exception caught) {
            Throwable e = caught instanceof java.util.concurrent.CompletionException && caught.getCause() != null ? caught.getCause() : caught;
            String here = host == null ? "gone" : domainState(host, p.domain());
            if ("paused".equals(here) && resumedNanos.get() == 0 && !record.phase().switchedOver()) {
                // libvirt's incoming domain, never resumed here, waiting for memory: once the source aborts libvirt's
                // migration, libvirt removes it; the guest never ran here
                LOG.info("migration {}: libvirt's incoming {} is paused here, never resumed: waiting for libvirt to remove it", id, p.domain());
                try {
                    if (host.awaitGone(p.uuid(), timeout)) here = "gone";
                } catch (DomainException | InterruptedException w) {
                    if (w instanceof InterruptedException) Thread.currentThread().interrupt();
                    LOG.warn("migration {}: {}", id, w.toString());
                }
            }
            boolean guestHere = "running".equals(here) || "paused".equals(here);
            ErrorKind kind = guestHere ? ErrorKind.FAILED : cancelled.isDone() ? ErrorKind.CANCELLED
                    : e instanceof AgentException a ? a.kind() : ErrorKind.FAILED;
            String message = CauseChain.of(e);
            LOG.warn("migration {}: {}", id, message);
            if (!guestHere) {
                // the guest never ran here: leave nothing
                for (IncomingDisk in : disks) {
                    release(in);
                    try {
                        if (in.image != null) Files.deleteIfExists(in.image);
                    } catch (IOException io) {
                        LOG.warn("migration {}: removing {}: {}", id, in.image, io.toString());
                    }
                }
                deleteTree(workDir);
            }
            link.trySend(new PeerMessage.Failed(kind, message, guestHere ? here : null));
            record.fail(kind, message, guestHere ? GuestLocation.of(null, here) : GuestLocation.neverArrived(here));
        } finally {
            for (IncomingDisk in : disks) tokens.revoke(id + "." + in.plan.target());
            try {
                if (startedWatch != null) startedWatch.close();
                if (resumedWatch != null) resumedWatch.close();
            } catch (Exception e) {
                LOG.debug("migration {}: {}", id, e.toString());
            }
            try {
                if (incoming != null) Files.deleteIfExists(incoming);
            } catch (IOException e) {
                LOG.warn("migration {}: removing {}: {}", id, incoming, e.toString());
            }
            if (host != null) host.close();
            link.close();
        }
    }

    private static String domainState(LibvirtHost host, String name) {
        try {
            return host.domain(name).runState();
        } catch (DomainException e) {
            return "gone";
        }
    }

    private static <T> T awaitOrCancel(CompletableFuture<T> f, CompletableFuture<String> cancelled, Duration timeout, String what)
            throws Exception {
        CompletableFuture<Object> any = CompletableFuture.anyOf(f, cancelled);
        try {
            any.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AgentException(ErrorKind.FAILED, "no " + what + " within " + timeout);
        }
        if (!f.isDone()) throw new AgentException(ErrorKind.CANCELLED, cancelled.join());
        return f.join();
    }

    private static void release(IncomingDisk in) {
        if (in.server != null) in.server.close();
        if (in.transfer != null) in.transfer.close();
        try {
            if (in.store != null) in.store.close();
            if (in.work != null) Files.deleteIfExists(in.work);
        } catch (IOException e) {
            LOG.warn("releasing {}: {}", in.plan.target(), e.toString());
        }
        in.server = null;
        in.store = null;
    }

    private static void deleteTree(Path dir) {
        RestartRecovery.removeDir(dir.toString());
    }
}
