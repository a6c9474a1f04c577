package io.vmmig.agent.session;

import io.vmmig.strategy.qemu.MigrationEvent;
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
import io.vmmig.agent.peer.NettyPeerChannel;
import io.vmmig.agent.peer.PeerConnector;
import io.vmmig.agent.peer.PeerTransportException;
import io.vmmig.agent.peer.PeerUnauthorizedException;
import io.vmmig.agent.vm.SourceVm;
import io.vmmig.agent.vm.TcgDirtyTracking;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryMigrate;
import io.vmmig.qmp.command.QmpCommands.QueryMigrateCapabilities;
import io.vmmig.qmp.command.QmpResults.MigrationCapability;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.qmp.command.QmpResults.MigrationInfo;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.strategy.qemu.MigrationAssembly;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.qemu.MirrorTarget;
import io.vmmig.strategy.qemu.QemuTlsCreds;
import io.vmmig.strategy.qemu.SourceMigration;
import io.vmmig.strategy.qemu.SourceReport;
import io.vmmig.strategy.qemu.SourceStrategy;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.StreamTls;
import io.vmmig.strategy.source.SourceDiskTransfer;
import io.vmmig.strategy.source.SourceOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source agent's side of one migration, on a thread of its own: inspects the VM, prepares the
 * destination over the control connection (the destination creates the image and issues the
 * migration's token), opens the data connection with that token, runs the strategy around QEMU's
 * memory migration, merges the destination's report, and quits the source QEMU once the destination
 * holds everything. Any failure before the switchover cancels: the guest keeps running here.
 */
public final class SourceSession implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(SourceSession.class);
    /**
     * How long the destination's resume token is valid: for the whole pull (it is revoked when the
     * migration ends); a pull is not bounded by a step timeout.
     */
    static final Duration RESUME_TOKEN_TTL = Duration.ofDays(365);

    /**
     * What the operator asked for; {@code memory}: the memory migration's settings (the agent's and the request's), null: QEMU's own;
     * {@code disks}: the disks to move by name (device id, drive id or node), null: every local disk;
     * {@code memoryOwnLimit}: memory's max-bandwidth was given on its own ({@code --memory-bandwidth} or
     * {@code memory.max-bandwidth}), so only the disk draws on {@code --bandwidth} and the agent's link budget.
     */
    public record Request(Path qmpSocket, String vmName, String destHost, int destPort, StrategyChoice strategy,
                          Long bandwidth, Integer threshold, Integer chunkSize, String target,
                          io.vmmig.strategy.qemu.MemorySettings memory, List<String> disks, boolean memoryOwnLimit) {
        public Request(Path qmpSocket, String vmName, String destHost, int destPort, StrategyChoice strategy,
                       Long bandwidth, Integer threshold, Integer chunkSize, String target,
                       io.vmmig.strategy.qemu.MemorySettings memory, List<String> disks) {
            this(qmpSocket, vmName, destHost, destPort, strategy, bandwidth, threshold, chunkSize, target, memory, disks, false);
        }

        public Request(Path qmpSocket, String vmName, String destHost, int destPort, StrategyChoice strategy,
                       Long bandwidth, Integer threshold, Integer chunkSize, String target,
                       io.vmmig.strategy.qemu.MemorySettings memory) {
            this(qmpSocket, vmName, destHost, destPort, strategy, bandwidth, threshold, chunkSize, target, memory, null);
        }
    }

    private final AgentConfig config;
    private final PeerConnector connector;
    private final MigrationRecord record;
    private final Request request;
    private final io.vmmig.agent.peer.TokenIssuer tokens;
    private final io.vmmig.agent.daemon.MigrationRegistry registry;
    /** The agent's outgoing link budget ({@code link-bandwidth}), which this migration joins with its {@code --bandwidth}. */
    private final io.vmmig.strategy.link.LinkBudget outgoing;
    private final CompletableFuture<String> cancelled = new CompletableFuture<>();
    private volatile SourceMigration driver;
    private volatile ControlLink link;
    /** The destination QEMU's run state as the destination agent last reported it (null: not reported). */
    private volatile String destinationQemu;
    /** Why the destination failed, as it said (its kind: NO_SPACE, ...), before our own error. */
    private volatile AgentException destinationFailure;
    private volatile byte[] resumeToken;
    /**
     * Fingerprints before data, in pieces of this size: this agent's {@code dedup} is on and the destination
     * has an index at a size dividing the chunk (its PREPARED); 0: off.
     */
    private volatile int dedupPiece;

    public SourceSession(AgentConfig config, PeerConnector connector, MigrationRecord record, Request request,
                         io.vmmig.agent.peer.TokenIssuer tokens, io.vmmig.agent.daemon.MigrationRegistry registry,
                         io.vmmig.strategy.link.LinkBudget outgoing) {
        this.outgoing = outgoing;
        this.config = config;
        this.connector = connector;
        this.record = record;
        this.request = request;
        this.tokens = tokens;
        this.registry = registry;
        record.onCancel(this::cancel);
    }

    private volatile io.vmmig.strategy.link.LinkBudget.Share share;

    private void cancel(String reason) {
        cancelled.complete(reason);
        SourceMigration d = driver;
        if (d != null) d.cancel(reason);
        ControlLink l = link;
        if (l != null) l.trySend(new PeerMessage.Cancel(reason));
    }

    @Override
    public void run() {
        try {
            ControlEvent.Report report = migrate();
            record.complete(report);
            RestartRecovery.removeDir(record.fact(MigrationJournal.WORK_DIR));
        } catch (Exception e) {
            if (e instanceof InterruptedException) Thread.currentThread().interrupt();
            LOG.debug("migration {} failed", record.id(), e);
            SourceMigration d = driver;
            boolean switched = d != null && d.switchedOver();
            ErrorKind kind = e instanceof AgentException a ? a.kind()
                    : e instanceof SourceMigration.CancelledException ? ErrorKind.CANCELLED : ErrorKind.FAILED;
            String message = e instanceof InterruptedException ? "interrupted" : CauseChain.of(e);
            AgentException dst = destinationFailure;
            if (dst != null && !cancelled.isDone()) {   // the destination's reason is the migration's
                kind = dst.kind();
                message = dst.getMessage();
                // the destination QEMU only saw its stream end: when ours failed first, QEMU's reason is here
                // (a TLS certificate naming another host, say)
                String ours = switched ? null : QemuRunState.migrationError(request.qmpSocket());
                if (ours != null && !message.contains(ours)) message += "; the source QEMU's memory migration failed: " + ours;
            }
            if (cancelled.isDone()) kind = ErrorKind.CANCELLED;
            if (switched) kind = ErrorKind.FAILED;   // past the switchover nothing is cancelled
            record.fail(kind, message, GuestLocation.of(QemuRunState.at(request.qmpSocket()), destinationQemu));
            if (!switched) RestartRecovery.removeDir(record.fact(MigrationJournal.WORK_DIR));
        } finally {
            io.vmmig.strategy.link.LinkBudget.Share s = share;
            if (s != null) s.close();   // the governor closes it at the switchover; here for every other end
        }
    }

    private void checkCancelled() throws AgentException {
        if (cancelled.isDone()) throw new AgentException(ErrorKind.CANCELLED, "cancelled: " + cancelled.join());
    }

    private ControlEvent.Report migrate() throws Exception {
        String id = record.id();
        Duration timeout = config.timeout();
        Path workDir = WorkDir.create(config.stateDir(), id);
        record.fact(MigrationJournal.WORK_DIR, workDir.toString());
        record.fact(MigrationJournal.QMP_SOCKET, request.qmpSocket().toAbsolutePath().toString());   // before touching the VM
        QmpClient qmp;
        try {
            qmp = QmpClient.connect(request.qmpSocket());
        } catch (RuntimeException e) {
            throw new AgentException(ErrorKind.NOT_FOUND, "cannot talk to the VM's QMP socket " + request.qmpSocket() + ": " + e.getMessage(), e);
        }
        try (qmp) {
            SourceVm vm = SourceVm.inspect(qmp, request.qmpSocket(), request.disks());
            TcgDirtyTracking.warning(Integer.parseInt(vm.qemuVersion().split("\\.")[0]), vm.description())
                    .ifPresent(w -> LOG.warn("migration {}: {}", id, w));
            int chunk = request.chunkSize() != null ? request.chunkSize() : 256 * 1024;
            StrategyChoice choice = request.strategy();
            checkCancelled();
            // QEMU's TLS credentials go in while the destination prepares (they depend on nothing it says)
            CompletableFuture<QemuTlsCreds> creds = new CompletableFuture<>();
            if (config.qemuStreamsTls()) {
                Thread t = new Thread(() -> {
                    try {
                        creds.complete(QemuTlsFiles.install(config, qmp, id, QemuTlsCreds.Endpoint.CLIENT, workDir));
                    } catch (Throwable e) {
                        creds.completeExceptionally(e);
                    }
                }, "vmmig-tls-creds-" + id);
                t.setDaemon(true);
                t.start();
            } else {
                creds.complete(null);
            }
            boolean handed = false;
            PeerChannel controlChannel = connect("", new byte[0]);
            Audit.peer(record, controlChannel instanceof NettyPeerChannel n ? n.peerSubject() : null);
            try (ControlLink control = new ControlLink(controlChannel)) {
                link = control;
                if (cancelled.isDone()) control.trySend(new PeerMessage.Cancel(cancelled.join()));
                java.util.List<PeerMessage.Disk> disks = new java.util.ArrayList<>();
                for (int i = 0; i < vm.disks().size(); i++) {
                    io.vmmig.agent.vm.VmDisk k = vm.disks().get(i);
                    disks.add(new PeerMessage.Disk(vm.destinationDiskNodes().get(i), k.format(), k.virtualSize(), k.allocatedBytes(),
                            k.backingFile(), Path.of(k.image()).getFileName().toString()));
                }
                if (!vm.notMoved().isEmpty()) LOG.info("migration {}: not moved: {}", id, String.join(", ", vm.notMoved()));
                control.send(new PeerMessage.Prepare(id, choice.name(), chunk, disks, request.target(),
                        vm.description().toJson(), request.vmName(), vm.qemuVersion()));
                PeerMessage.Prepared prepared = control.expect(PeerMessage.Prepared.class, timeout);
                Integer piece = prepared.dedupChunk();
                dedupPiece = config.dedup().enabled() && piece != null && piece > 0 && Integer.bitCount(piece) == 1
                        && chunk % piece == 0 && chunk / piece <= io.vmmig.strategy.peer.Frame.MAX_FINGERPRINTS ? piece : 0;
                LOG.info("migration {}: destination {} prepared {}{}", id, control.remote(), prepared.images(),
                        dedupPiece > 0 ? "; dedup: fingerprints of " + dedupPiece + "-byte pieces before the data" : "");
                checkCancelled();
                PeerChannel data = choice.chunkTransfer() ? connect(id, Base64.getDecoder().decode(prepared.token())) : null;
                if (data != null) {
                    // where the destination reconnects if the pull's link breaks: our peer listener, with a token of ours
                    resumeToken = tokens.issue(id, null, RESUME_TOKEN_TTL);
                    control.send(new PeerMessage.ResumeAt(config.listenPort(), Base64.getEncoder().encodeToString(resumeToken)));
                }
                try {
                    handed = true;   // runWithControl closes the credentials
                    return runWithControl(qmp, vm, choice, chunk, control, data, workDir, timeout, creds);
                } finally {
                    registry.forgetResumes(id);
                    tokens.revoke(id);
                    if (data != null) data.close();
                }
            } finally {
                if (!handed) creds.thenAccept(c -> { if (c != null) c.close(); });
            }
        }
    }

    private PeerChannel connect(String migrationId, byte[] token) throws AgentException {
        String where = request.destHost() + ":" + request.destPort();
        try {
            return connector.connect(request.destHost(), request.destPort(), migrationId, token, Duration.ofSeconds(30));
        } catch (PeerUnauthorizedException e) {
            throw new AgentException(ErrorKind.UNAUTHORIZED, "destination agent " + where + " refused us: " + e.getMessage(), e);
        } catch (PeerTransportException e) {
            String m = e.getMessage() == null ? e.toString() : e.getMessage();
            ErrorKind k = m.contains("TLS") || m.contains("certificate") ? ErrorKind.UNAUTHORIZED : ErrorKind.UNREACHABLE;
            throw new AgentException(k, "destination agent " + where + ": " + m, e);
        }
    }

    private ControlEvent.Report runWithControl(QmpClient qmp, SourceVm vm, StrategyChoice choice, int chunk, ControlLink control,
                                    PeerChannel data, Path workDir, Duration timeout,
                                    CompletableFuture<QemuTlsCreds> installing) throws Exception {
        String id = record.id();
        MigrationTimeline timeline = new MigrationTimeline(record.startNanos());   // the report counts from the request
        CompletableFuture<PeerMessage.Ready> ready = new CompletableFuture<>();
        CompletableFuture<PeerMessage.Finished> finished = new CompletableFuture<>();
        PeerMessage.Progress[] destProgress = new PeerMessage.Progress[1];
        Thread reader = new Thread(() -> {
            try {
                while (true) {
                    PeerMessage m = control.receive(Duration.ofDays(1));
                    if (m instanceof PeerMessage.Ready r) ready.complete(r);
                    else if (m instanceof PeerMessage.Progress p) {
                        destProgress[0] = p;
                        if (p.qemuStatus() != null) destinationQemu = p.qemuStatus();
                    }
                    else if (m instanceof PeerMessage.Finished f) {
                        finished.complete(f);
                        return;
                    } else if (m instanceof PeerMessage.Failed f) {
                        if (f.qemuStatus() != null) destinationQemu = f.qemuStatus();
                        AgentException e = new AgentException(f.kind(), "destination " + control.remote() + ": " + f.message());
                        destinationFailure = e;
                        ready.completeExceptionally(e);
                        finished.completeExceptionally(e);
                        SourceMigration d = driver;
                        if (d != null) d.cancel("the destination failed: " + f.message());
                        return;
                    }
                }
            } catch (AgentException | InterruptedException e) {
                ready.completeExceptionally(e);
                finished.completeExceptionally(e);
            }
        }, "vmmig-control-" + id);
        reader.setDaemon(true);
        reader.start();

        // QEMU's streams to the destination (memory; the mirror's NBD) in TLS when this agent is configured so,
        // and only if the destination listens the same way: nothing is sent before both agree
        boolean qemuTls = config.qemuStreamsTls();
        CompletableFuture<PeerMessage.Ready> agreed = ready.thenApply(r -> {
            if (Boolean.TRUE.equals(r.qemuTls()) != qemuTls)
                throw new CompletionException(new AgentException(ErrorKind.BAD_REQUEST,
                        "the destination " + control.remote() + " has QEMU's streams " + (qemuTls ? "in plain TCP" : "in TLS")
                                + " but this agent has tls.qemu-streams = " + qemuTls + " (set the same on both agents)"
                                + "; the guest keeps running at the source"));
            return r;
        });
        QemuTlsCreds creds;
        try {
            creds = installing.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        } catch (java.util.concurrent.TimeoutException e) {
            installing.thenAccept(c -> { if (c != null) c.close(); });
            throw new AgentException(ErrorKind.ENVIRONMENT, "QEMU's TLS credentials were not in place within " + timeout.toSeconds() + " s");
        }
        // the destination's certificate must name the address we dialled its agent on (its QEMU listens there too)
        StreamTls tls = creds == null ? null : new StreamTls(creds.id(), request.destHost());
        LOG.info("migration {}: QEMU's streams to {} in {}", id, request.destHost(),
                tls != null ? "TLS (the destination's certificate must name " + tls.hostname() + ")" : "plain TCP (tls.qemu-streams is off)");
        try {
            return runStrategy(qmp, vm, choice, chunk, data, workDir, timeout, timeline, agreed, finished, destProgress, tls);
        } finally {
            SourceMigration d = driver;
            if (creds != null && (d == null || !d.switchedOver())) creds.close();   // after the switchover QEMU quits
        }
    }

    private ControlEvent.Report runStrategy(QmpClient qmp, SourceVm vm, StrategyChoice choice, int chunk, PeerChannel data,
                                    Path workDir, Duration timeout, MigrationTimeline timeline,
                                    CompletableFuture<PeerMessage.Ready> ready, CompletableFuture<PeerMessage.Finished> finished,
                                    PeerMessage.Progress[] destProgress, StreamTls tls) throws Exception {
        String id = record.id();
        // the mirror goes to the destination QEMU's NBD export over TCP, at the address we dialled the destination agent on
        CompletableFuture<MirrorTarget> mirrorTarget = ready.thenApply(r -> r.mirrorPort() != null
                ? MirrorTarget.tcp(request.destHost(), r.mirrorPort(), r.mirrorExport())
                : MirrorTarget.unix(Path.of(r.mirrorSocket()), r.mirrorExport()));
        MigrationAssembly.Plan plan = MigrationAssembly.Plan.of(id, choice.strategy(), choice.name(), choice.mirrorMode(),
                vm.sourceDiskNodes(), chunk, timeout).withPush(pushOptions()).withTls(tls, null).withMemory(request.memory());
        // one budget for the push and memory together (--bandwidth), and a fair part of the agent's link-bandwidth
        if (plan.chunkTransfer() && (request.bandwidth() != null || !outgoing.unlimited()))
            plan = plan.withLink(share = outgoing.join(request.bandwidth() == null ? 0 : request.bandwidth(), !request.memoryOwnLimit()));
        SourceStrategy strategy = MigrationAssembly.sourceStrategy(qmp, plan, workDir, data, mirrorTarget, timeline);
        if (strategy instanceof ChunkTransferSource cts) {
            registry.expectResumes(id, ch -> {
                SourceDiskTransfer t = cts.transfer();
                if (t == null || !timeline.happened(MigrationEvent.REMAINING_SENT) && !timeline.happened(MigrationEvent.FINAL_ROUND_SENT)) {
                    LOG.warn("migration {}: resume connection from {} before the hand-over: closed", id, ch.remote());
                    ch.close();
                    return;
                }
                LOG.info("migration {}: the destination {} resumes the pull", id, ch.remote());
                try {
                    t.resumeOn(ch);
                } catch (RuntimeException e) {
                    LOG.warn("migration {}: resume from {} refused: {}", id, ch.remote(), e.toString());
                    ch.close();
                }
            });
        }
        record.fact(MigrationJournal.CAPABILITIES_BEFORE, capabilities(qmp));   // before the Cutover turns them on
        SourceMigration d = MigrationAssembly.sourceDriver(qmp, strategy, plan, null, timeline);
        driver = d;
        if (cancelled.isDone()) d.cancel(cancelled.join());
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vmmig-progress-" + id);
            t.setDaemon(true);
            return t;
        });
        ProgressSampler progress = new ProgressSampler(record, qmp, strategy, timeline, vm, chunk, () -> destProgress[0],
                () -> destinationQemu);
        sampler.scheduleAtFixedRate(progress::sample, 0, 500, TimeUnit.MILLISECONDS);
        if (strategy instanceof ChunkTransferSource cts) {
            boolean[] written = {false};
            sampler.scheduleAtFixedRate(() -> {
                if (written[0] || !timeline.happened(MigrationEvent.SWITCHED_OVER) || resumeToken == null) return;
                written[0] = true;
                rememberPull(cts, vm, workDir);
            }, 50, 50, TimeUnit.MILLISECONDS);
        }
        try (strategy) {
            MigrationReport report = d.runTo(ready.thenApply(r -> "tcp:" + uriHost(request.destHost()) + ":" + r.memoryPort()));
            record.phase(MigrationPhase.FINISHING);
            // The destination said DONE on the data connection: it holds the whole disk. Its report comes on
            // the control connection, which a cut during the pull may have taken: then we finish without it.
            PeerMessage.Finished f = null;
            try {
                f = finished.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                LOG.warn("migration {}: the destination holds the whole disk but its report did not come ({}); finishing without it",
                        id, e.getCause() == null ? e.toString() : e.getCause().getMessage());
            }
            if (f != null) {
                DestinationReport dr = ControlCodec.mapper().treeToValue(f.report(), DestinationReport.class);
                report = report.withDestination(dr);
            }
            QemuStreams streams = QemuStreams.of(tls, choice.chunkTransfer());
            io.vmmig.strategy.qemu.MemorySettings memory = d.memorySettings();
            long downtimeTarget = d.downtimeTargetMillis();
            try {
                qmp.call(new Quit());
                LOG.info("migration {}: the destination holds the whole disk; source QEMU told to quit", id);
            } catch (RuntimeException e) {
                LOG.warn("migration {}: quit of the source QEMU: {}", id, CauseChain.of(e));
            }
            timeline.mark(MigrationEvent.SOURCE_RELEASED);
            report = report.endingAt(timeline).withDiskNames(vm.disks().stream().map(io.vmmig.agent.vm.VmDisk::device).toList());
            SourcePullFile.remove(workDir);
            progress.sample();
            com.fasterxml.jackson.databind.JsonNode tree = MemoryReport.addTo(streams.addTo(ControlCodec.tree(report)), memory, downtimeTarget);
            String afterSwitchover = "";
            if (f != null && f.report() != null && f.report().has("afterSwitchover")) {
                ((com.fasterxml.jackson.databind.node.ObjectNode) tree).set("afterSwitchover", f.report().get("afterSwitchover"));
                afterSwitchover = SwitchoverNetwork.Result.summaryLine(f.report());
            }
            return new ControlEvent.Report(id, tree, report.summary() + streams.summaryLine() + MemoryReport.summaryLine(memory, downtimeTarget)
                    + afterSwitchover);
        } finally {
            sampler.shutdownNow();
        }
    }

    /** The migration capabilities vmmig may turn on, as they are now: {@code events=false,pause-before-switchover=false}. */
    private static String capabilities(QmpClient qmp) {
        StringBuilder b = new StringBuilder();
        for (MigrationCapability c : qmp.call(new QueryMigrateCapabilities())) {
            if (c.capability().equals("events") || c.capability().equals("pause-before-switchover")
                    || c.capability().equals("auto-converge"))
                b.append(b.length() == 0 ? "" : ",").append(c.capability()).append('=').append(c.state());
        }
        return b.toString();
    }

    /** The guest runs at the destination: what a restarted agent needs to serve the rest of the pull. */
    private void rememberPull(ChunkTransferSource cts, SourceVm vm, Path workDir) {
        try {
            String expiry = tokens.expiryOf(record.id(), resumeToken).orElseThrow().toString();
            new SourcePullFile(record.id(), request.vmName(), request.destHost() + ":" + request.destPort(), request.strategy().name(),
                    request.qmpSocket().toAbsolutePath().toString(), cts.exportSocket().toString(), cts.exportNames(),
                    cts.layout().disks().stream().map(io.vmmig.strategy.DiskLayout.Disk::size).toList(), cts.layout().chunkSize(),
                    pushOptions().compress(), Base64.getEncoder().encodeToString(resumeToken), expiry)
                    .write(workDir);
        } catch (Exception e) {
            LOG.warn("migration {}: cannot record the pull for a restart of this agent: {}", record.id(), e.toString());
        }
    }

    private SourceOptions pushOptions() {
        SourceOptions o = SourceOptions.defaults().withCompression(config.compression());
        if (request.threshold() != null) o = o.withThreshold(request.threshold());
        if (request.bandwidth() != null) o = o.withPushBytesPerSecond(request.bandwidth());
        return o.withDedup(dedupPiece);
    }

    private static String uriHost(String host) {
        return host.contains(":") ? "[" + host + "]" : host;
    }

    /** Turns the engine's timeline and figures into the record's phases and progress samples. */
    static final class ProgressSampler {
        private final MigrationRecord record;
        private final QmpClient qmp;
        private final SourceStrategy strategy;
        private final MigrationTimeline timeline;
        private final SourceVm vm;
        private final int chunk;
        private final java.util.function.Supplier<PeerMessage.Progress> dest;
        private final java.util.function.Supplier<String> destQemu;
        private long lastBytes;
        private long lastNanos = System.nanoTime();

        ProgressSampler(MigrationRecord record, QmpClient qmp, SourceStrategy strategy, MigrationTimeline timeline,
                        SourceVm vm, int chunk, java.util.function.Supplier<PeerMessage.Progress> dest,
                        java.util.function.Supplier<String> destQemu) {
            this.record = record;
            this.qmp = qmp;
            this.strategy = strategy;
            this.timeline = timeline;
            this.vm = vm;
            this.chunk = chunk;
            this.dest = dest;
            this.destQemu = destQemu;
            timeline.onEvent(e -> {
                MigrationPhase p = phaseAfter(e);
                if (p != null) record.phase(p);   // phases only move forward
            });
        }

        /**
         * Each disk apart (more than one): pushed (the source's count), before the switchover what of its
         * allocation is not pushed yet, after it what the destination says it still misses and the rest as pulled.
         */
        private List<MigrationProgress.Disk> perDisk(SourceReport s, PeerMessage.Progress d, boolean switched) {
            if (vm.disks().size() < 2 || s.disks().size() != vm.disks().size()) return List.of();
            List<MigrationProgress.Disk> out = new java.util.ArrayList<>();
            for (int i = 0; i < vm.disks().size(); i++) {
                io.vmmig.agent.vm.VmDisk k = vm.disks().get(i);
                SourceReport.DiskFigures f = s.disks().get(i);
                long pulled = 0, remaining;
                if (!switched) {
                    remaining = Math.max(0, k.allocatedBytes() - f.pushedBytes());
                } else {
                    long handed = Math.max(0, f.handedOverBytes());
                    remaining = d != null && d.missingPerDisk() != null && d.missingPerDisk().size() == vm.disks().size()
                            ? Math.min(handed, d.missingPerDisk().get(i)) : handed;
                    pulled = handed - remaining;
                }
                out.add(new MigrationProgress.Disk(k.device(), k.virtualSize(), f.pushedBytes(), pulled, remaining));
            }
            return out;
        }

        /** The phase the source enters when the engine says {@code e} happened, or null for no change. */
        static MigrationPhase phaseAfter(MigrationEvent e) {
            return switch (e) {
                case DISK_STARTED -> MigrationPhase.PUSHING;
                case MEMORY_STARTED -> MigrationPhase.MEMORY;
                case PAUSED -> MigrationPhase.CUTOVER;
                case SWITCHED_OVER -> MigrationPhase.PULLING;
                default -> null;
            };
        }

        synchronized void sample() {
            try {
                boolean switched = timeline.happened(MigrationEvent.SWITCHED_OVER);
                record.guest(GuestLocation.of(QemuRunState.of(qmp), destQemu.get()));
                if (switched && strategy instanceof ChunkTransferSource cts && cts.transfer() != null)
                    record.waitingFor(cts.transfer().connected() ? null : "destination");
                SourceReport s = strategy.report();
                PeerMessage.Progress d = dest.get();
                long pushed = s.pushedBytes() + s.mirroredBytes();
                long pulled = d == null ? 0 : d.pulledBytes();
                long remaining = switched ? Math.max(0, (long) s.remainingChunks() * chunk - pulled)
                        : Math.max(0, vm.allocatedBytes() - pushed);
                long ramT = 0, ramR = 0, ramTotal = 0;
                if (timeline.happened(MigrationEvent.MEMORY_STARTED) && !switched) {
                    MigrationInfo m = qmp.call(new QueryMigrate());
                    if (m.ram() != null) {
                        ramT = m.ram().transferred();
                        ramR = m.ram().remaining();
                        ramTotal = m.ram().total();
                    }
                }
                long moved = pushed + pulled + ramT;
                long now = System.nanoTime();
                long rate = (long) ((moved - lastBytes) / Math.max(1e-3, (now - lastNanos) / 1e9));
                lastBytes = moved;
                lastNanos = now;
                long eta = rate > 0 ? (remaining + ramR) / rate : -1;
                record.progress(new MigrationProgress(record.elapsedMillis(), vm.virtualSize(), pushed, remaining, pulled,
                        ramT, ramR, ramTotal, Math.max(0, rate), eta, perDisk(s, d, switched)));
            } catch (RuntimeException e) {
                // sampling is best effort: QEMU may be going away at the end
            }
        }
    }
}
