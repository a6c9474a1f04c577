package io.vmmig.agent.daemon;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.config.HostPort;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationStatus;
import io.vmmig.agent.metrics.AgentMetrics;
import io.vmmig.agent.peer.ClientIdentity;
import io.vmmig.agent.peer.PeerAcceptor;
import io.vmmig.agent.peer.PeerConnector;
import io.vmmig.agent.peer.PeerServer;
import io.vmmig.agent.peer.PeerTls;
import io.vmmig.agent.peer.PeerTransportException;
import io.vmmig.agent.peer.PeerTransportOptions;
import io.vmmig.agent.peer.TokenIssuer;
import io.vmmig.agent.session.ControlLink;
import io.vmmig.agent.session.DestinationSession;
import io.vmmig.agent.session.DomainDiskSelection;
import io.vmmig.agent.session.RestartRecovery;
import io.vmmig.agent.session.SourceSession;
import io.vmmig.agent.session.LibvirtSourceSession;
import io.vmmig.agent.session.StrategyChoice;
import io.vmmig.strategy.peer.PeerChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host's vmmig agent: the peer listener (destination role: control connections prepare
 * migrations, data connections carry them), the peer connector (source role), the control socket of
 * the CLI, and the migrations of both roles, each on threads of its own so that one failing does not
 * disturb the others.
 */
public final class Agent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final AgentConfig config;
    private final AgentMetrics metrics = new AgentMetrics();
    private volatile io.vmmig.agent.session.NeighbourhoodIndex neighbourhood = io.vmmig.agent.session.NeighbourhoodIndex.none();
    private final MigrationRegistry registry;
    /** {@code link-bandwidth}: what all outgoing migrations may take together, shared fairly. */
    private final io.vmmig.strategy.link.LinkBudget outgoing;
    private final TokenIssuer tokens = new TokenIssuer();
    /** QMP sockets of the VMs this agent is migrating away (one migration per VM at a time). */
    private final java.util.Map<Path, String> leaving = new java.util.concurrent.ConcurrentHashMap<>();
    private PeerServer peerServer;
    private PeerConnector connector;
    private AgentWarmUp warmUp;
    private ControlServer control;

    private Agent(AgentConfig config) {
        this.config = config;
        MigrationJournal journal = new MigrationJournal(config.stateDir().resolve("journal"));
        this.registry = new MigrationRegistry(metrics::track, journal);
        this.outgoing = new io.vmmig.strategy.link.LinkBudget(config.linkBandwidth());
        journal.retain(config.journalRetention(), e -> {   // a finished migration dropped: its record, and what it left
            registry.forget(e.status().id());
            RestartRecovery.removeIdleDir(e.facts().get(MigrationJournal.WORK_DIR));
        });
        journal.prune(java.time.Instant.now());
    }

    public static Agent start(AgentConfig config) throws AgentException {
        Agent a = new Agent(config);
        try {
            a.open();
            return a;
        } catch (AgentException | RuntimeException e) {
            a.close();
            throw e;
        }
    }

    private void open() throws AgentException {
        try {
            Files.createDirectories(config.stateDir());
        } catch (java.io.IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "cannot create the state directory " + config.stateDir() + ": " + e.getMessage(), e);
        }
        PeerServer.Builder b = PeerServer.builder().bind(config.listenHost(), config.listenPort())
                .authorizer(new AgentAuthorizer(tokens)).acceptor(new Acceptor());
        try {
            if (config.insecure()) {
                b.insecure();
                connector = PeerConnector.insecure(PeerTransportOptions.DEFAULT);
            } else {
                PeerTls server = PeerTls.server(config.tlsKey(), config.tlsCert(), config.tlsCa(), config.allowedClients());
                PeerTls client = PeerTls.client(config.tlsKey(), config.tlsCert(), config.tlsCa());
                b.tls(server);
                connector = PeerConnector.tls(client, PeerTransportOptions.DEFAULT);
                warmUp = new AgentWarmUp(server, client, config.tlsCert());
            }
        } catch (PeerTransportException | IllegalArgumentException | IllegalStateException e) {
            throw new AgentMisconfigured("tls.key, tls.cert, tls.ca: " + CauseChain.of(e), e);
        }
        HostPort listen = new HostPort(config.listenHost(), config.listenPort());
        try {
            peerServer = b.start();
        } catch (Exception e) {   // Netty rethrows the bind's java.net.BindException undeclared
            Throwable why = e instanceof PeerTransportException && e.getCause() != null ? e.getCause() : e;
            throw new AgentMisconfigured("listen = " + listen + ": cannot listen: " + CauseChain.of(why), e);
        }
        if (config.metricsListen() != null) {
            try {
                metrics.serve(config.metricsListen());
            } catch (java.io.IOException | RuntimeException e) {
                throw new AgentMisconfigured("metrics.listen = " + config.metricsListen() + ": cannot listen: " + CauseChain.of(e), e);
            }
        }
        neighbourhood = io.vmmig.agent.session.NeighbourhoodIndex.start(config);   // indexes in the background
        java.util.Set<String> pulling = io.vmmig.agent.session.RestartedDestinationPull.takeBack(config, registry, connector);
        for (io.vmmig.agent.session.GuestFile g : io.vmmig.agent.session.GuestFile.running(config.stateDir())) {
            if (pulling.contains(g.id())) continue;
            String problem = g.phase() == io.vmmig.agent.control.MigrationPhase.COMPLETED ? null
                    : "this agent restarted during the pull; the guest runs here (QEMU pid " + g.qemuPid() + ") but its pull was"
                    + " not resumed after a destination agent restart: it needs the operator";
            try {
                registry.add(MigrationRecord.restored(g.id(), "destination", g.vm(), g.peer(), g.strategy(), problem));
                LOG.info("found the guest of migration {} ({}) running here: QEMU pid {}", g.id(), g.vm(), g.qemuPid());
            } catch (AgentException e) {
                LOG.warn("guest of {}: {}", g.id(), e.getMessage());
            }
        }
        io.vmmig.agent.session.RestartedSourcePull.takeBack(config.stateDir(), registry, tokens);
        recoverJournal();
        control = ControlServer.start(config.controlSocket(), config.controlOptions(), LocalAccounts.system(), this::handle);
        (warmUp != null ? warmUp : new AgentWarmUp(null, null, null)).startInBackground();
        LOG.info("vmmig agent up: peers on {}, control socket {}, images in {}", peerServer.address(), config.controlSocket(),
                config.imageDirs());
    }

    /**
     * Lists the migrations a previous run wrote down and settles those it left in flight that the
     * pull's own state did not take back (see {@link RestartRecovery}: before the switchover they are
     * cancelled cleanly, leaving nothing behind; after it they are reported with where the guest runs).
     * The records are listed at once; each is settled on a thread of its own, so that the control
     * socket opens whatever the QEMUs do (until settled, a record shows the phase it was left in).
     */
    private void recoverJournal() {
        for (MigrationJournal.Entry e : new MigrationJournal(config.stateDir().resolve("journal")).load()) {
            MigrationRecord r = MigrationRecord.restored(e);
            try {
                registry.get(r.id());
                continue;   // taken back by its pull state
            } catch (AgentException notThere) {
                // ours to settle
            }
            try {
                registry.add(r);
            } catch (AgentException ex) {
                continue;
            }
            if (!r.phase().terminal()) {
                LOG.info("migration {} ({} side) was {} when this agent stopped: settling it", r.id(), r.role(), r.phase());
                // on a thread of its own: settling talks to QEMUs that may be slow or stuck, and the agent serves meanwhile
                Runnable settle = r.fact(MigrationJournal.LIBVIRT_DOMAIN) != null
                        ? () -> io.vmmig.agent.session.LibvirtRecovery.recover(r, config) : () -> RestartRecovery.recover(r);
                Thread t = new Thread(settle, "vmmig-recover-" + r.id());
                t.setDaemon(true);
                t.start();
            }
        }
    }

    /** The destination's fingerprint index of its images (dedup). */
    public io.vmmig.agent.session.NeighbourhoodIndex neighbourhood() {
        return neighbourhood;
    }

    /** The port {@code /metrics} is served on, or -1 without {@code metrics.listen}. */
    public int metricsPort() {
        return metrics.port();
    }

    /** The port the peer listener bound (the configured one, or the one picked for port 0). */
    public int peerPort() {
        return peerServer.port();
    }

    private final class Acceptor implements PeerAcceptor {
        @Override
        public void accept(String migrationId, PeerChannel channel) {
            accept(migrationId, new ClientIdentity(channel.remote(), null), channel);
        }

        @Override
        public void accept(String migrationId, ClientIdentity client, PeerChannel channel) {
            if (migrationId.isEmpty()) {
                Thread t = new Thread(() -> new DestinationSession(config, tokens, registry, new ControlLink(channel), client, connector,
                        metrics, neighbourhood).serve(),
                        "vmmig-destination");
                t.setDaemon(true);
                t.start();
            } else if (!registry.dataArrived(migrationId, channel)) {
                LOG.warn("data connection for migration {} from {} that nobody awaits: closed", migrationId, client.describe());
                channel.close();
            }
        }
    }

    private void handle(ControlCaller caller, ControlRequest r, ControlServer.EventSink out) throws InterruptedException {
        try {
            switch (r.op()) {
                case MIGRATE -> {
                    MigrationRecord m;
                    try {
                        m = startMigration(caller, r);
                    } catch (AgentException e) {
                        Audit.migrateRefused(caller, r.vm(), r.dest(), r.strategy(), e.getMessage());
                        throw e;
                    }
                    stream(m, out);
                }
                case WATCH -> stream(registry.get(required(r.id(), "id")), out);
                case STATUS -> out.send(new ControlEvent.Status(registry.get(required(r.id(), "id")).status()));
                case LIST -> {
                    List<MigrationStatus> all = registry.all().stream().map(MigrationRecord::status).toList();
                    out.send(new ControlEvent.Listing(all));
                }
                case CANCEL -> {
                    MigrationRecord m = null;
                    try {
                        m = registry.get(required(r.id(), "id"));
                        m.cancel("cancelled by the operator");
                    } catch (AgentException e) {
                        Audit.cancel(caller, r.id(), m, "refused: " + e.getMessage());
                        throw e;
                    }
                    Audit.cancel(caller, r.id(), m, "cancelling");
                    out.send(new ControlEvent.Cancelling(m.id()));
                }
            }
        } catch (AgentException e) {
            out.send(new ControlEvent.Failure(r.id(), e.kind(), e.getMessage()));
        }
    }

    private static String required(String v, String name) throws AgentException {
        if (v == null || v.isBlank()) throw new AgentException(ErrorKind.BAD_REQUEST, "missing \"" + name + "\"");
        return v;
    }

    /** Relays a migration's events to the client until its terminal one (or until the client leaves). */
    private static void stream(MigrationRecord m, ControlServer.EventSink out) throws InterruptedException {
        BlockingQueue<ControlEvent> q = new LinkedBlockingQueue<>();
        try (MigrationRecord.Watch w = m.watch(q::add)) {
            while (true) {
                ControlEvent e = q.take();
                out.send(e);
                if (e instanceof ControlEvent.Report || e instanceof ControlEvent.Failure) return;
            }
        }
    }

    private MigrationRecord startMigration(ControlCaller caller, ControlRequest r) throws AgentException {
        StrategyChoice choice = StrategyChoice.parse(r.strategy());
        String vm = required(r.vm(), "vm");
        Path qmp;
        String vmName;
        if (vm.contains("/")) {
            qmp = Path.of(vm);
            if (!qmp.isAbsolute())
                throw new AgentException(ErrorKind.BAD_REQUEST, "QMP socket path '" + vm + "' is relative: the agent's directory is not"
                        + " the caller's (vmmig migrate sends absolute paths)");
            if (!Files.exists(qmp)) throw new AgentException(ErrorKind.NOT_FOUND, "no QMP socket at " + vm);
            vmName = qmp.getParent() != null && qmp.getParent().getFileName() != null ? qmp.getParent().getFileName().toString() : vm;
        } else if (config.vms().containsKey(vm)) {
            qmp = config.vms().get(vm);
            vmName = vm;
        } else {
            return startDomainMigration(caller, r, choice, vm);
        }
        HostPort dest = destination(r);
        String host = dest.host();
        int port = dest.port();
        checkTransferOptions(r);
        if (r.bandwidth() != null && r.bandwidth() <= 0)
            throw new AgentException(ErrorKind.BAD_REQUEST, "bandwidth " + r.bandwidth() + " must be positive");
        if (r.bandwidth() != null && !choice.chunkTransfer())
            throw new AgentException(ErrorKind.BAD_REQUEST, "--bandwidth applies to vmmig's own transfer, not to the " + choice.name() + " strategy");
        io.vmmig.strategy.qemu.MemorySettings memory;
        ControlRequest.Memory mr = r.memory() == null ? new ControlRequest.Memory(null, null, null) : r.memory();
        try {
            memory = config.memory().settingsFor(choice.chunkTransfer() ? r.bandwidth() : null, mr.maxBandwidth(), mr.downtimeLimit(),
                    mr.autoConverge());
        } catch (IllegalArgumentException e) {
            throw new AgentException(ErrorKind.BAD_REQUEST, "memory migration settings: " + e.getMessage());
        }
        Path qmpSocket = qmp;
        // memory given a limit of its own stays outside the link budget (only the disk draws on it)
        boolean memoryOwnLimit = mr.maxBandwidth() != null || config.memory().maxBandwidth() != null;
        return launch(caller, qmp.toAbsolutePath().normalize(), "VM " + vmName, vmName, dest, choice,
                m -> new SourceSession(config, connector, m, new SourceSession.Request(qmpSocket, vmName, host, port, choice,
                        r.bandwidth(), r.threshold(), r.chunkSize(), r.target(), memory, r.disks(), memoryOwnLimit), tokens, registry, outgoing)::run);
    }

    /**
     * A VM that is neither a QMP socket nor a {@code vm.NAME}: a domain of the local libvirtd ({@code libvirt.uri}),
     * migrated by libvirt with vmmig moving its disks (hybrid only).
     */
    private MigrationRecord startDomainMigration(ControlCaller caller, ControlRequest r, StrategyChoice choice, String domain) throws AgentException {
        if (!choice.name().equals("hybrid"))
            throw new AgentException(ErrorKind.BAD_REQUEST, "libvirt domain " + domain + ": only --strategy hybrid is done through libvirt"
                    + " (for libvirt's own mirror use virsh migrate --copy-storage-all)");
        if (r.target() != null)
            throw new AgentException(ErrorKind.BAD_REQUEST, "--target names one image; a libvirt domain's disks go to the destination's image directory");
        HostPort dest = destination(r);
        checkTransferOptions(r);
        // asked here, so that a name nobody knows is refused at once, as before libvirt domains were accepted
        try (io.vmmig.libvirt.LibvirtHost h = io.vmmig.libvirt.LibvirtHost.open(config.libvirt().uri())) {
            io.vmmig.libvirt.LibvirtDomain d = h.domain(domain);
            if (r.disks() != null) DomainDiskSelection.check(d.name(), domainDisks(d), r.disks());
        } catch (io.vmmig.libvirt.DomainException e) {
            // NOT_FOUND either way (a mistyped VM on a host without libvirt is an unknown VM), naming the libvirtd asked
            if (e.reason() == io.vmmig.libvirt.DomainException.Reason.UNREACHABLE)
                throw new AgentException(ErrorKind.NOT_FOUND, "unknown VM '" + domain + "': not a QMP socket path, not among this agent's"
                        + " vm.* entries " + config.vms().keySet() + ", and no libvirt domain could be looked up: " + e.getMessage()
                        + " (libvirt.uri = " + config.libvirt().uri() + " in the agent's config)");
            throw new AgentException(ErrorKind.NOT_FOUND, "unknown VM '" + domain + "': not a QMP socket path, not among this agent's"
                    + " vm.* entries " + config.vms().keySet() + ", and not a libvirt domain: " + e.getMessage());
        }
        return launch(caller, Path.of("libvirt", domain), "domain " + domain, domain, dest, choice,
                m -> new LibvirtSourceSession(config, connector, m, new LibvirtSourceSession.Request(domain, dest.host(), dest.port(),
                        r.chunkSize(), r.bandwidth(), r.threshold()))::run);
    }

    private static java.util.List<io.vmmig.libvirt.DomainDisk> domainDisks(io.vmmig.libvirt.LibvirtDomain d) throws AgentException {
        try {
            return io.vmmig.libvirt.DomainXml.parse(d.liveXml()).disks();
        } catch (io.vmmig.libvirt.DomainException e) {
            throw new AgentException(ErrorKind.FAILED, e.getMessage(), e);
        }
    }

    private static HostPort destination(ControlRequest r) throws AgentException {
        try {
            return HostPort.parse(required(r.dest(), "dest"), AgentConfig.DEFAULT_PORT);
        } catch (IllegalArgumentException e) {
            throw new AgentException(ErrorKind.BAD_REQUEST, "bad destination: " + e.getMessage());
        }
    }

    private static void checkTransferOptions(ControlRequest r) throws AgentException {
        if (r.chunkSize() != null && (Integer.bitCount(r.chunkSize()) != 1 || r.chunkSize() < 64 << 10 || r.chunkSize() > 16 << 20))
            throw new AgentException(ErrorKind.BAD_REQUEST, "chunk size " + r.chunkSize() + " must be a power of two from 64 KiB to 16 MiB");
        if (r.threshold() != null && r.threshold() < 1)
            throw new AgentException(ErrorKind.BAD_REQUEST, "threshold " + r.threshold() + " must be at least 1");
    }

    /**
     * Reserves {@code key} (one migration per VM at a time), registers and audits the migration (plain QEMU
     * and libvirt domains alike), and runs its source session on a thread of its own.
     */
    private MigrationRecord launch(ControlCaller caller, Path key, String what, String vm, HostPort dest, StrategyChoice choice,
                                   java.util.function.Function<MigrationRecord, Runnable> session) throws AgentException {
        String id = registry.newId();
        String busy = leaving.putIfAbsent(key, id);
        if (busy != null) throw new AgentException(ErrorKind.BAD_REQUEST, what + " is already being migrated (" + busy + ")");
        MigrationRecord m = new MigrationRecord(id, "source", vm, dest.toString(), choice.name());
        Runnable run;
        try {
            registry.add(m);
            Audit.migrate(caller, m);
            run = session.apply(m);
        } catch (AgentException | RuntimeException e) {
            leaving.remove(key);
            throw e;
        }
        Thread t = new Thread(() -> {
            try {
                run.run();
            } finally {
                leaving.remove(key);
            }
        }, "vmmig-source-" + id);
        t.setDaemon(true);
        t.start();
        return m;
    }

    @Override
    public void close() {
        if (control != null) control.close();
        if (peerServer != null) peerServer.close();
        if (connector != null) connector.close();
        metrics.close();
        neighbourhood.close();
    }
}
