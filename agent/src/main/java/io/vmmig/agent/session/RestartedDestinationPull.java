package io.vmmig.agent.session;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationProgress;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.agent.daemon.MigrationRecord;
import io.vmmig.agent.daemon.MigrationRegistry;
import io.vmmig.agent.peer.PeerConnector;
import io.vmmig.strategy.qemu.ChunkTransferDestination;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.strategy.qemu.MigrationTimeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A destination agent that restarted during a pull takes it back: for every migration directory
 * whose guest still runs ({@code guest.json} in phase PULLING, {@code qemu.pid} alive, QMP answering)
 * and that has the pull's state ({@link DestinationPullFile}, the journal), it serves the guest's disk
 * again on the same NBD socket (QEMU's NBD client reconnects within its {@code reconnect-delay} and
 * sends its held requests again: the guest saw a stall), reconnects to the source with RESUME,
 * pulls the rest without fetching what the journal says is installed, pivots, and completes.
 */
public final class RestartedDestinationPull {
    private static final Logger LOG = LoggerFactory.getLogger(RestartedDestinationPull.class);

    private RestartedDestinationPull() {
    }

    /**
     * Takes back every pull found in {@code config}'s state dir; returns the ids it took back (their
     * guests are then not listed again as found guests).
     */
    public static java.util.Set<String> takeBack(AgentConfig config, MigrationRegistry registry, PeerConnector connector) {
        java.util.Set<String> taken = new java.util.HashSet<>();
        Path m = config.stateDir().resolve("m");
        if (!Files.isDirectory(m)) return taken;
        try (var dirs = Files.list(m)) {
            for (Path dir : dirs.toList()) {
                Optional<GuestFile> g = GuestFile.read(dir);
                Optional<DestinationPullFile> f = DestinationPullFile.read(dir);
                if (g.isEmpty() || f.isEmpty()) continue;
                if (g.get().phase() == MigrationPhase.COMPLETED) {
                    // pivoted, but the agent died before the source heard DONE: tell it, so it can let its QEMU go
                    tellDone(connector, dir, f.get());
                    continue;
                }
                Optional<ProcessHandle> qemu = DestinationQemu.running(dir);   // its pidfile and command line; QMP is asked later
                if (qemu.isEmpty()) continue;
                if (takeBack(config, registry, connector, dir, g.get(), f.get(), qemu.get())) taken.add(g.get().id());
            }
        } catch (java.io.IOException e) {
            LOG.warn("cannot list {}: {}", m, e.toString());
        }
        return taken;
    }

    /** Retries of {@link #tellDone}, with the backoff of {@link PullReconnector}. */
    private static final java.util.concurrent.ScheduledExecutorService DONE_RETRIES =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "vmmig-done-retries");
                t.setDaemon(true);
                return t;
            });
    /** How long the source may take to close the connection after DONE (it does once it read it). */
    private static final java.time.Duration DONE_HEARD = java.time.Duration.ofSeconds(10);

    /**
     * Connects to the source (retrying with {@link PullReconnector}'s backoff, in the background) and
     * sends RESUME (everything installed, nothing missing) and DONE; then the pull file goes, and the
     * connection once the source closed it (it does when it read DONE) or after {@link #DONE_HEARD}.
     */
    private static void tellDone(PeerConnector connector, Path dir, DestinationPullFile f) {
        tellDone(connector, dir, f, PullReconnector.FIRST_DELAY.toMillis());
    }

    private static void tellDone(PeerConnector connector, Path dir, DestinationPullFile f, long delayMillis) {
        DONE_RETRIES.schedule(() -> {
            try {
                io.vmmig.strategy.peer.PeerChannel ch = connector.connect(f.sourceHost(), f.sourcePort(), f.id(),
                        Base64.getDecoder().decode(f.resumeToken()), java.time.Duration.ofSeconds(10));
                ch.start(new io.vmmig.strategy.peer.PeerChannel.Handler() {
                    @Override public void onFrame(io.vmmig.strategy.peer.PeerChannel c, io.vmmig.strategy.peer.Frame frame) { }
                    @Override public void onClosed(io.vmmig.strategy.peer.PeerChannel c, Throwable cause) { }
                });
                int chunks = (int) ((f.diskSize() + f.chunkSize() - 1) / f.chunkSize());
                ch.send(new io.vmmig.strategy.peer.Frame.Resume(chunks, 0));
                ch.send(new io.vmmig.strategy.peer.Frame.Done());
                DestinationPullFile.remove(dir);
                LOG.info("migration {}: told the source {}:{} DONE after a restart", f.id(), f.sourceHost(), f.sourcePort());
                ch.closed().orTimeout(DONE_HEARD.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
                        .whenComplete((v, e) -> ch.close());   // let it read DONE before the connection goes
            } catch (RuntimeException e) {
                LOG.info("migration {}: source {}:{} not told DONE yet: {}", f.id(), f.sourceHost(), f.sourcePort(), e.getMessage());
                tellDone(connector, dir, f, Math.min(PullReconnector.MAX_DELAY.toMillis(), delayMillis * 2));
            }
        }, delayMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /**
     * Lists the migration at once (PULLING) and takes its pull back on a thread of its own: the QEMU's
     * QMP, the export and the reconnection may take a while, and the agent serves meanwhile.
     */
    private static boolean takeBack(AgentConfig config, MigrationRegistry registry, PeerConnector connector, Path dir, GuestFile g,
                                    DestinationPullFile f, ProcessHandle qemuProcess) {
        MigrationRecord record = new MigrationRecord(g.id(), "destination", g.vm(), g.peer(), g.strategy());
        try {
            registry.add(record);
        } catch (AgentException e) {
            LOG.warn("pull of {}: {}", g.id(), e.getMessage());
            return false;
        }
        record.phase(MigrationPhase.PULLING);
        Thread t = new Thread(() -> resume(config, connector, dir, g, f, record, qemuProcess), "vmmig-dst-resumed-" + g.id());
        t.setDaemon(true);
        t.start();
        return true;
    }

    private static void resume(AgentConfig config, PeerConnector connector, Path dir, GuestFile g, DestinationPullFile f,
                               MigrationRecord record, ProcessHandle qemuProcess) {
        Optional<DestinationQemu> found = DestinationQemu.find(dir);
        if (found.isEmpty()) {
            record.fail(ErrorKind.FAILED, "this agent restarted during the pull; the guest's QEMU (pid " + qemuProcess.pid()
                    + ") does not answer on QMP, so its pull was not taken back: it needs the operator");
            return;
        }
        DestinationQemu qemu = found.get();
        qemu.keep();
        MigrationTimeline timeline = new MigrationTimeline();
        ChunkTransferDestination disk;
        try {
            disk = ChunkTransferDestination.restore(new ChunkTransferDestination.Config(g.id(), Path.of(f.image()), f.format(), f.diskNode(),
                    f.diskSize(), f.chunkSize(), ChunkTransferDestination.DEFAULT_PULLERS, dir, config.timeout()), qemu.qmp(), timeline)
                    .orElse(null);
        } catch (Exception e) {
            disk = null;
            LOG.error("migration {}: cannot take the pull back: {}", g.id(), e.toString());
        }
        if (disk == null) {
            record.fail(ErrorKind.FAILED, "this agent restarted during the pull and could not take it back; the guest runs here (QEMU pid "
                    + qemu.pid() + ") and needs the operator");
            return;
        }
        disk.limitBackgroundPull(config.pullBandwidth());
        PullReconnector reconnector = new PullReconnector(g.id(), connector, f.sourceHost(), f.sourcePort(),
                Base64.getDecoder().decode(f.resumeToken()), disk.transfer(), record);
        disk.transfer().onLinkLost(reconnector::linkLost);
        reconnector.linkLost();
        LOG.info("migration {}: took the pull back after a restart (QEMU pid {}); reconnecting to the source {}:{}", g.id(), qemu.pid(),
                f.sourceHost(), f.sourcePort());
        finish(disk, record, reconnector, dir, qemu);
    }

    private static void finish(ChunkTransferDestination disk, MigrationRecord record, PullReconnector reconnector, Path dir,
                               DestinationQemu qemu) {
        try {
            while (!disk.complete().isDone()) {
                DestinationReport r = disk.report();
                record.progress(new MigrationProgress(record.elapsedMillis(), 0, r.receivedPushBytes(), 0, r.pulledBytes(), 0, 0, 0, 0, -1));
                try {
                    disk.complete().get(500, java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    // report progress again
                }
            }
            disk.complete().get();
            disk.finish();
            GuestFile.write(dir, record, MigrationPhase.COMPLETED, qemu.pid());
            record.phase(MigrationPhase.FINISHING);
            PullReconnector.awaitDone(disk.transfer(), reconnector);
            reconnector.stop();
            DestinationPullFile.remove(dir);   // the source heard DONE: nothing left to resume
            DestinationReport report = disk.report();
            record.complete(new ControlEvent.Report(record.id(), ControlCodec.tree(report), "destination of " + record.id()
                    + " (pull taken back after an agent restart): " + report));
            LOG.info("migration {}: the guest runs here (QEMU pid {}) from its local image, pull finished after a restart", record.id(), qemu.pid());
            qemu.close();   // kept: only our monitor connection goes (QEMU serves one QMP client at a time)
        } catch (Exception e) {
            // the guest's disk stays served by this agent: nothing is closed
            LOG.error("migration {}: the pull taken back after a restart failed; the guest runs here (QEMU pid {}) and this agent keeps"
                    + " serving its disk: {}", record.id(), qemu.pid(), e.toString());
            record.fail(ErrorKind.FAILED, "the pull taken back after a restart failed: " + e.getMessage()
                    + "; the guest runs here and needs the operator");
        }
    }
}
