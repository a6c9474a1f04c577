package io.vmmig.agent.session;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.GuestLocation;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationProgress;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.agent.daemon.Audit;
import io.vmmig.agent.daemon.MigrationJournal;
import io.vmmig.agent.daemon.CauseChain;
import io.vmmig.agent.daemon.MigrationRecord;
import io.vmmig.agent.daemon.MigrationRegistry;
import io.vmmig.agent.metrics.AgentMetrics;
import io.vmmig.agent.metrics.PullMetrics;
import io.vmmig.agent.peer.ClientIdentity;
import io.vmmig.agent.peer.TokenIssuer;
import io.vmmig.agent.config.QemuPolicy;
import io.vmmig.agent.vm.DescriptionValidator;
import io.vmmig.agent.vm.DestinationCommandLine;
import io.vmmig.agent.vm.SourceVm;
import io.vmmig.agent.vm.VmDescription;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.qemu.DestinationMigration;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.strategy.qemu.DestinationStrategy;
import io.vmmig.strategy.qemu.ChunkTransferDestination;
import io.vmmig.strategy.qemu.MigrationAssembly;
import io.vmmig.strategy.qemu.MigrationEvent;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.qemu.MirrorDestination;
import io.vmmig.strategy.qemu.MirrorTarget;
import io.vmmig.strategy.qemu.QemuTlsCreds;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination agent's side of one migration, on the thread of its control connection: checks the
 * PREPARE (strategy, the VM description against the allow-list, QEMU version, target path, space), creates the image, issues the token, waits for
 * the data connection, starts QEMU (its command line built from the validated VM description) in {@code -incoming defer} with the strategy's disk, says READY,
 * and finishes. A migration that fails or is cancelled before the switchover leaves nothing behind
 * (QEMU killed, image removed, token revoked); after the switchover the guest runs here and is kept.
 */
public final class DestinationSession {
    private static final Logger LOG = LoggerFactory.getLogger(DestinationSession.class);

    private final AgentConfig config;
    private final TokenIssuer tokens;
    private final MigrationRegistry registry;
    private final ControlLink link;
    private final ClientIdentity client;
    private final io.vmmig.agent.peer.PeerConnector connector;
    private final AgentMetrics metrics;

    private final NeighbourhoodIndex neighbourhood;

    public DestinationSession(AgentConfig config, TokenIssuer tokens, MigrationRegistry registry, ControlLink link,
                              ClientIdentity client, io.vmmig.agent.peer.PeerConnector connector, AgentMetrics metrics) {
        this(config, tokens, registry, link, client, connector, metrics, NeighbourhoodIndex.none());
    }

    public DestinationSession(AgentConfig config, TokenIssuer tokens, MigrationRegistry registry, ControlLink link,
                              ClientIdentity client, io.vmmig.agent.peer.PeerConnector connector, AgentMetrics metrics,
                              NeighbourhoodIndex neighbourhood) {
        this.neighbourhood = neighbourhood;
        this.connector = connector;
        this.metrics = metrics;
        this.config = config;
        this.tokens = tokens;
        this.registry = registry;
        this.link = link;
        this.client = client;
    }

    /** Serves one control connection: its PREPARE, then the migration to its end. */
    public void serve() {
        PeerMessage.Prepare prepare;
        try {
            PeerMessage first = link.receive(Duration.ofSeconds(30));
            if (first instanceof PeerMessage.PrepareDomain pd) {
                MigrationRecord record = new MigrationRecord(pd.id(), "destination", pd.domain(), client.remote(), "hybrid");
                try {
                    registry.add(record);
                } catch (AgentException e) {
                    link.trySend(new PeerMessage.Failed(e.kind(), e.getMessage()));
                    return;
                }
                new LibvirtDestinationSession(config, tokens, registry, link, client).run(record, pd);
                return;
            }
            if (!(first instanceof PeerMessage.Prepare p)) {
                link.trySend(new PeerMessage.Failed(ErrorKind.BAD_REQUEST, "expected prepare first"));
                return;
            }
            prepare = p;
        } catch (AgentException | InterruptedException e) {
            LOG.warn("control connection from {} ended before a prepare: {}", client.describe(), CauseChain.of(e));
            return;
        }
        MigrationRecord record = new MigrationRecord(prepare.id(), "destination", prepare.vm(), client.remote(), prepare.strategy());
        try {
            registry.add(record);
        } catch (AgentException e) {
            link.trySend(new PeerMessage.Failed(e.kind(), e.getMessage()));
            return;
        }
        Audit.incoming(record, client.subject() == null ? null : client.subject().getName());
        run(record, prepare);
    }

    /** Whether the destination QEMU's incoming migration completed (its guest's state is here), as QEMU says. */
    private static boolean incomingCompleted(io.vmmig.qmp.QmpClient qmp) {
        try {
            return "completed".equals(qmp.call(new io.vmmig.qmp.command.QmpCommands.QueryMigrate()).status());
        } catch (RuntimeException e) {
            return false;
        }
    }

    private void run(MigrationRecord record, PeerMessage.Prepare p) {
        String id = p.id();
        Duration timeout = config.timeout();
        MigrationTimeline timeline = new MigrationTimeline();
        List<TargetImage> images = new java.util.ArrayList<>();
        Path workDir = null;
        boolean leaveNothing = false;
        DestinationQemu qemu = null;
        DestinationStrategy disk = null;
        QemuTlsCreds creds = null;
        PullMetrics pull = metrics.pull(id);
        CompletableFuture<String> cancelled = new CompletableFuture<>();
        CompletableFuture<PeerMessage.ResumeAt> resumeAt = new CompletableFuture<>();
        PullReconnector reconnector = null;
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vmmig-dst-progress-" + id);
            t.setDaemon(true);
            return t;
        });
        try {
            StrategyChoice choice = StrategyChoice.parse(p.strategy());
            QemuPolicy policy = config.qemuPolicy();
            DestinationCommandLine.Placed placed = DestinationCommandLine.placeMonitors(VmDescription.read(p.description()), policy);
            new DescriptionValidator(policy).check(placed.description(), p.diskNodes(), p.formats());
            for (String note : placed.droppedMonitors())
                LOG.warn("migration {}: the user's monitor {} is left out of the destination QEMU", id, note);
            int[] v = QemuImgTool.version(config.qemuBinary());
            SourceVm.requireVersion("destination", v[0] + "." + v[1] + "." + v[2], v[0], v[1]);
            List<TargetImage> planned = TargetImage.planAll(config, p);
            workDir = WorkDir.create(config.stateDir(), PeerValues.migrationId("prepare", id));   // checked, and a new one: the only kind removed on failure
            record.fact(MigrationJournal.WORK_DIR, workDir.toString());
            List<ChunkTransferDestination.TargetDisk> targets = new java.util.ArrayList<>();
            // the guest's I/O of what is already here stays in QEMU when every disk can take the local data path
            boolean localDataPath = choice.chunkTransfer()
                    && p.disks().stream().allMatch(d -> ChunkTransferDestination.localDataPathFits(d.format(), d.backingFile(), p.chunkSize()));
            for (int i = 0; i < planned.size(); i++) {
                PeerMessage.Disk pd = p.disks().get(i);
                TargetImage t = planned.get(i);
                images.add(t);   // before it exists: a failure removes what was created
                t.create(pd.format(), pd.virtualSize(), pd.backingFile(), localDataPath ? ChunkTransferDestination.localImageOptions() : null);
                record.fact(MigrationJournal.image(i), t.path().toString());   // a restarted agent removes it if need be
                targets.add(new ChunkTransferDestination.TargetDisk(t.path(), pd.format(), pd.node(), pd.virtualSize()));
            }
            byte[] token = tokens.issue(id, client.subject(), config.tokenTtl());
            CompletableFuture<PeerChannel> data = registry.expectData(id);
            java.util.Optional<io.vmmig.strategy.dedup.LocalChunkMatcher> localChunks =
                    StrategyChoice.parse(p.strategy()).chunkTransfer() ? neighbourhood.matcher(p.chunkSize()) : java.util.Optional.empty();
            link.send(new PeerMessage.Prepared(images.stream().map(t -> t.path().toString()).toList(),
                    Base64.getEncoder().encodeToString(token),
                    localChunks.map(io.vmmig.strategy.dedup.LocalChunkMatcher::chunkSize).orElse(null)));
            record.phase(MigrationPhase.PUSHING);
            Thread reader = new Thread(() -> {
                try {
                    while (true) {
                        PeerMessage m = link.receive(Duration.ofDays(1));
                        if (m instanceof PeerMessage.Cancel c) cancelled.complete("cancelled by the source: " + c.reason());
                        else if (m instanceof PeerMessage.ResumeAt r) resumeAt.complete(r);
                    }
                } catch (AgentException | InterruptedException e) {
                    cancelled.complete("the source went away: " + e.getMessage());
                }
            }, "vmmig-dst-control-" + id);
            reader.setDaemon(true);
            reader.start();

            int memoryPort = freePort(config.migrationHost());
            MigrationAssembly.Plan plan = MigrationAssembly.Plan.of(id, choice.strategy(), choice.name(), choice.mirrorMode(),
                    p.diskNodes(), p.chunkSize(), timeout);

            // QEMU's incoming memory and its NBD server in TLS, with this agent's certificate (client certificates required)
            String tlsId = config.qemuStreamsTls() ? QemuTlsFiles.credsId(id) : null;
            plan = plan.withTls(null, tlsId);
            PeerChannel channel = null;
            if (choice.chunkTransfer()) {
                channel = await(data, cancelled, timeout, "the source's data connection");
                await(resumeAt, cancelled, timeout, "the source's resume address");   // sent right after the data connection
            }
            disk = MigrationAssembly.destinationStrategy(plan, targets, workDir, channel,
                    choice.chunkTransfer() ? null : new InetSocketAddress(config.migrationHost(), freePort(config.migrationHost())),
                    timeline, c -> {
                        ChunkTransferDestination.Config k = localChunks.map(c::withLocalChunks).orElse(c);
                        return localDataPath ? k.withLocalDataPath() : k;
                    });
            if (disk instanceof ChunkTransferDestination ctd) {
                ctd.limitBackgroundPull(config.pullBandwidth());
                PullReconnector rc = resumeAt.isDone()
                        ? new PullReconnector(id, connector, PullReconnector.hostOf(client.remote()), resumeAt.join().port(),
                                Base64.getDecoder().decode(resumeAt.join().token()), ctd.transfer(), record)
                        : null;
                reconnector = rc;
                if (rc != null)
                    new DestinationPullFile(id, PullReconnector.hostOf(client.remote()), resumeAt.join().port(), resumeAt.join().token(),
                            p.chunkSize(), targets.stream().map(t -> new DestinationPullFile.Disk(t.image().toString(), t.format(), t.node(),
                                    t.size())).toList()).write(workDir);
                if (rc == null) LOG.warn("migration {}: the source sent no resume address: a cut during the pull cannot be resumed", id);
                // after the switchover only (before it, a lost source is a failed migration, handled below)
                ctd.transfer().onLinkLost(() -> {
                    if (rc != null && timeline.guestAtDestination()) rc.linkLost();
                });
            }
            if (policy.runas() != null) for (TargetImage t : images) QemuRunAs.handOver(policy.runas(), t.path(), workDir);
            List<String> args = DestinationCommandLine.build(placed.description(), policy, disk.qemuBlockdevArgs());
            record.fact(MigrationJournal.QEMU_QMP, workDir.resolve("qmp.sock").toString());   // before it exists
            qemu = DestinationQemu.start(config.qemuBinary(), workDir, args, Duration.ofSeconds(60));
            record.fact(MigrationJournal.QEMU_PID, Long.toString(qemu.pid()));
            LOG.info("migration {}: destination QEMU pid {} waiting for memory on {}:{} ({})", id, qemu.pid(), config.migrationHost(),
                    memoryPort, tlsId != null ? "TLS, client certificate required" : "plain TCP: tls.qemu-streams is off");
            if (tlsId != null) creds = QemuTlsFiles.install(config, qemu.qmp(), id, QemuTlsCreds.Endpoint.SERVER, workDir,
                    policy.runas());
            // QEMU's own announcement as the guest starts here follows announce.* too (0 rounds: none at all)
            io.vmmig.agent.config.AfterSwitchover after = config.afterSwitchover();
            qemu.qmp().call(new io.vmmig.qmp.command.QmpCommands.MigrateSetAnnounceParameters(after.announceInitialMs(),
                    after.announceMaxMs(), after.announceRounds(), after.announceStepMs()));
            DestinationMigration incoming = new DestinationMigration(qemu.qmp(), disk,
                    "tcp:" + uriHost(config.migrationHost()) + ":" + memoryPort, tlsId, timeline);
            SwitchoverNetwork network = new SwitchoverNetwork(config.afterSwitchover(), qemu.qmp(),
                    new SwitchoverNetwork.Guest(id, p.vm(), PullReconnector.hostOf(client.remote()), config.migrationHost(),
                            SwitchoverNetwork.macsOf(placed.description()), workDir.resolve("qmp.sock")), workDir);
            java.util.concurrent.atomic.AtomicBoolean networkStarted = new java.util.concurrent.atomic.AtomicBoolean();
            timeline.onEvent(e -> {
                if (e == MigrationEvent.RUNNING_AT_DESTINATION && networkStarted.compareAndSet(false, true)) network.start();
            });
            PeerMessage.Ready ready;
            if (disk instanceof MirrorDestination m) {
                MirrorTarget t = await(m.exported(), cancelled, timeout, "the mirror export");
                ready = new PeerMessage.Ready(memoryPort, t.port(), null, t.export(), tlsId != null);
            } else {
                ready = new PeerMessage.Ready(memoryPort, null, null, null, tlsId != null);
            }
            link.send(ready);
            record.phase(MigrationPhase.MEMORY);
            DestinationStrategy d = disk;
            PullReconnector rc = reconnector;
            DestinationQemu q = qemu;
            Path dir = workDir;
            ticker.scheduleAtFixedRate(() -> {
                tick(record, timeline, d, pull, q);
                if (timeline.guestAtDestination()) {
                    GuestFile.write(dir, record, timeline.happened(MigrationEvent.FINISHED) ? MigrationPhase.COMPLETED : MigrationPhase.PULLING, q.pid());
                    // a cut between the hand-over and the switchover is noticed here
                    if (rc != null && d instanceof ChunkTransferDestination c && !c.transfer().connected()) rc.linkLost();
                }
            }, 500, 500, TimeUnit.MILLISECONDS);
            CompletableFuture<DestinationReport> finished = new CompletableFuture<>();
            // before the switchover a failed store (a full disk) ends the migration at once, and tells the source why
            d.complete().whenComplete((ignored, err) -> {
                if (err != null && !timeline.guestAtDestination()) finished.completeExceptionally(err);
            });
            Thread waiter = new Thread(() -> {
                try {
                    finished.complete(incoming.awaitAndFinish(timeout));
                } catch (Throwable e) {
                    finished.completeExceptionally(e);
                }
            }, "vmmig-dst-finish-" + id);
            waiter.setDaemon(true);
            waiter.start();
            DestinationReport report;
            try {
                report = awaitUnlessCancelledBefore(finished, cancelled, timeline, timeout);
            } finally {
                incoming.close();
            }
            if (creds != null) creds.close();   // nothing uses it now: the NBD server is stopped, tls-creds reset
            tick(record, timeline, d, pull, q);
            qemu.keep();
            GuestFile.write(workDir, record, MigrationPhase.COMPLETED, qemu.pid());
            record.phase(MigrationPhase.FINISHING);
            if (d instanceof ChunkTransferDestination c) {
                // the source keeps its QEMU until it hears DONE: tell it, over a resumed connection if need be
                PullReconnector.awaitDone(c.transfer(), rc);
            }
            localChunks.ifPresent(m -> LOG.info("migration {}: dedup: {} fingerprints looked up, {} found here ({} all-zero), {} candidates refused",
                    id, m.lookups(), m.hits(), m.zeroHits(), m.rejected()));
            com.fasterxml.jackson.databind.JsonNode tree = network.result().addTo(ControlCodec.tree(report));
            link.trySend(new PeerMessage.Finished(tree));
            DestinationPullFile.remove(workDir);   // the source heard DONE: nothing left to resume
            record.complete(new ControlEvent.Report(id, tree, "destination of " + id + ": " + report));
            LOG.info("migration {}: the guest runs here (QEMU pid {}) from {}", id, qemu.pid(), images.stream().map(TargetImage::path).toList());
        } catch (Exception caught) {
            Throwable e = caught instanceof java.util.concurrent.CompletionException && caught.getCause() != null ? caught.getCause() : caught;
            boolean switched = timeline.guestAtDestination();
            boolean full = noSpace(e);
            ErrorKind kind = switched ? ErrorKind.FAILED   // past the switchover nothing is cancelled
                    : full ? ErrorKind.NO_SPACE
                    : e instanceof AgentException a ? a.kind() : cancelled.isDone() ? ErrorKind.CANCELLED : ErrorKind.FAILED;
            String message = (full ? "the destination's image directory is full (" + (images.isEmpty() ? "?" : images.get(0).path().getParent())
                    + "): " : "") + CauseChain.of(e);
            String qemuStatus = qemu == null ? null : QemuRunState.of(qemu.qmp());   // before anything is stopped
            // on the local data path QEMU runs with -S: a completed incoming migration waiting for its cont holds the guest
            boolean guestHere = switched || "running".equals(qemuStatus) || qemu != null && incomingCompleted(qemu.qmp());
            GuestLocation where = guestHere ? GuestLocation.of(null, qemuStatus)
                    : GuestLocation.neverArrived(qemuStatus == null ? "not started" : qemuStatus);
            if (guestHere) {
                if (qemu != null) qemu.keep();   // the guest lives here now: never kill it
                // nor its disk: the agent keeps serving it (and pulling, if it can) until the operator decides
                LOG.error("migration {} failed after the switchover; the guest runs here (QEMU pid {}) and this agent keeps"
                        + " serving its disk: {}", id, qemu == null ? "?" : qemu.pid(), message);
            } else if (!images.isEmpty()) {
                if (qemu != null) qemu.close();
                qemu = null;
                if (disk != null) disk.close();
                disk = null;
                images.forEach(TargetImage::discard);
                leaveNothing = true;
            } else {
                leaveNothing = true;
            }
            link.trySend(new PeerMessage.Failed(kind, message, qemuStatus));
            record.fail(kind, message, where);
        } finally {
            boolean guestOnAgentPath = timeline.guestAtDestination() && !timeline.happened(MigrationEvent.FINISHED);
            if (!guestOnAgentPath) {
                ticker.shutdownNow();
                pull.close();
                if (reconnector != null) reconnector.stop();
            }
            registry.forgetData(id);
            tokens.revoke(id);
            // After the switchover and before the pivot the running guest's disk node points at this agent's
            // NBD server: closing it would give the guest I/O errors. It stays, whatever happened.
            if (disk != null && !guestOnAgentPath) disk.close();
            if (creds != null) creds.close();
            if (qemu != null) qemu.close();
            if (leaveNothing && workDir != null) RestartRecovery.removeDir(workDir.toString());   // sockets, logs: nothing left
            link.close();
        }
    }

    /** Whether a store write failed for want of space (ENOSPC from the image's filesystem, through QEMU's export). */
    private static boolean noSpace(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof io.vmmig.nbd.client.NbdServerErrorException n && n.errno() == io.vmmig.nbd.protocol.NbdErrno.ENOSPC) return true;
            if (t instanceof io.vmmig.nbd.backend.BackendException b && b.errno() == io.vmmig.nbd.protocol.NbdErrno.ENOSPC) return true;
            if (t.getMessage() != null && t.getMessage().contains("No space left")) return true;
            if (t.getCause() == t) break;
        }
        return false;
    }

    private void tick(MigrationRecord record, MigrationTimeline timeline, DestinationStrategy disk, PullMetrics pull,
                      DestinationQemu qemu) {
        try {
            if (!timeline.guestAtDestination()) return;
            if (disk instanceof ChunkTransferDestination c) pull.sample(c.transfer());
            record.phase(MigrationPhase.PULLING);
            DestinationReport r = disk.report();
            String qemuStatus = QemuRunState.of(qemu.qmp());
            record.guest(GuestLocation.of(null, qemuStatus));
            List<Long> missing = disk instanceof ChunkTransferDestination c && c.layout().count() > 1 ? c.missingPerDisk() : null;
            link.trySend(new PeerMessage.Progress(r.pulledBytes(), r.pulledOnDemand(), r.pulledBackground(), r.receivedPushBytes(),
                    qemuStatus, missing));
            record.progress(new MigrationProgress(record.elapsedMillis(), 0, r.receivedPushBytes(), 0, r.pulledBytes(), 0, 0, 0, 0, -1));
        } catch (RuntimeException e) {
            // best effort
        }
    }

    /**
     * Waits for the migration's end; a cancellation or a lost source counts only before the switchover,
     * and so does {@code timeout}: once the guest runs here, only the end of the pull ends the wait.
     */
    private static DestinationReport awaitUnlessCancelledBefore(CompletableFuture<DestinationReport> finished,
                                                                CompletableFuture<String> cancelled, MigrationTimeline timeline,
                                                                Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                CompletableFuture.anyOf(finished, cancelled).get(200, TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                // finished failed: reported below; or time to look at the clock and the switchover
            }
            if (finished.isDone()) {
                try {
                    return finished.get();
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof Exception c ? c : e;
                }
            }
            if (cancelled.isDone() && !timeline.guestAtDestination())
                throw new AgentException(ErrorKind.CANCELLED, cancelled.join());
            if (cancelled.isDone()) {
                // after the switchover the source's words no longer matter (nor a lost control link): finish here
                try {
                    return finished.get();
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof Exception c ? c : e;
                }
            }
            if (!timeline.guestAtDestination() && System.nanoTime() > deadline)
                throw new TimeoutException("the migration did not reach the switchover within " + timeout);
        }
    }

    private static <T> T await(CompletableFuture<T> f, CompletableFuture<String> cancelled, Duration timeout, String what)
            throws Exception {
        try {
            CompletableFuture.anyOf(f, cancelled).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AgentException(ErrorKind.UNREACHABLE, "no " + what + " within " + timeout.toSeconds() + " s");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        }
        if (!f.isDone()) throw new AgentException(ErrorKind.CANCELLED, cancelled.join());
        return f.join();
    }

    private static int freePort(String host) throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
            return s.getLocalPort();
        }
    }

    private static String uriHost(String host) {
        return host.contains(":") ? "[" + host + "]" : host;
    }
}
