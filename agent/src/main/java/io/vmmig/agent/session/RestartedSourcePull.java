package io.vmmig.agent.session;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.agent.daemon.MigrationRecord;
import io.vmmig.agent.daemon.MigrationRegistry;
import io.vmmig.agent.peer.TokenIssuer;
import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.client.NbdClientOptions;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.qemu.NbdExportBackend;
import io.vmmig.strategy.source.PullResponder;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A source agent that restarted during a pull takes it back from {@link SourcePullFile}: it checks
 * that the source QEMU is still in {@code postmigrate} (the guest runs at the destination; the source
 * QEMU was never told to quit), reopens the read-only export vmmig left in it, accepts the
 * destination's resume connections with the token it had given, serves its pulls, and on DONE quits
 * the source QEMU and completes the migration's record.
 */
public final class RestartedSourcePull implements PeerChannel.Handler {
    private static final Logger LOG = LoggerFactory.getLogger(RestartedSourcePull.class);

    private final Path dir;
    private final SourcePullFile file;
    private final MigrationRecord record;
    private final MigrationRegistry registry;
    private final TokenIssuer tokens;
    private final QmpClient qmp;
    private final NbdClient export;
    private final PullResponder responder;
    private volatile PeerChannel channel;

    private RestartedSourcePull(Path dir, SourcePullFile file, MigrationRecord record, MigrationRegistry registry, TokenIssuer tokens,
                                QmpClient qmp, NbdClient export) {
        this.dir = dir;
        this.file = file;
        this.record = record;
        this.registry = registry;
        this.tokens = tokens;
        this.qmp = qmp;
        this.export = export;
        this.responder = new PullResponder(new NbdExportBackend(export), null, new io.vmmig.strategy.source.ChunkSender(
                file.compress() ? io.vmmig.strategy.peer.ChunkCompression.ADAPTIVE : io.vmmig.strategy.peer.ChunkCompression.OFF), 2);
    }

    /**
     * Takes back every pull the earlier run of this agent served from {@code stateDir}: each is listed
     * at once and taken back on a thread of its own (it asks the source QEMU, which may be slow; the
     * destination retries its resume meanwhile).
     */
    public static void takeBack(Path stateDir, MigrationRegistry registry, TokenIssuer tokens) {
        for (Map.Entry<Path, SourcePullFile> e : SourcePullFile.all(stateDir)) {
            SourcePullFile f = e.getValue();
            MigrationRecord record = new MigrationRecord(f.id(), "source", f.vm(), f.destination(), f.strategy());
            try {
                registry.add(record);
            } catch (AgentException ex) {
                LOG.warn("pull of {}: {}", f.id(), ex.getMessage());
                continue;
            }
            Thread t = new Thread(() -> takeBack(e.getKey(), f, record, registry, tokens), "vmmig-src-resumed-" + f.id());
            t.setDaemon(true);
            t.start();
        }
    }

    private static void takeBack(Path dir, SourcePullFile f, MigrationRecord record, MigrationRegistry registry, TokenIssuer tokens) {
        QmpClient qmp = null;
        try {
            qmp = QmpClient.connect(Path.of(f.qmpSocket()));
            String status = qmp.call(new QueryStatus()).status();
            if (!status.equals("postmigrate")) {
                qmp.close();
                record.fail(ErrorKind.FAILED, "this agent restarted during the pull of " + f.id() + ", but the source QEMU is "
                        + status + ", not postmigrate: the guest did not switch over to the destination; not taken back");
                SourcePullFile.remove(dir);
                return;
            }
            NbdClient export = NbdClient.connect(Path.of(f.exportSocket()), NbdClientOptions.of(f.exportName()));
            RestartedSourcePull p = new RestartedSourcePull(dir, f, record, registry, tokens, qmp, export);
            tokens.restore(f.id(), null, Instant.parse(f.tokenExpiry()), Base64.getDecoder().decode(f.resumeToken()));
            registry.expectResumes(f.id(), p::resumeOn);
            record.phase(MigrationPhase.PULLING);
            record.waitingFor("destination");
            LOG.info("migration {}: took the pull back after a restart; the source QEMU is in postmigrate with its export up;"
                    + " waiting for the destination {} to resume", f.id(), f.destination());
        } catch (Exception ex) {
            if (qmp != null) qmp.close();
            record.fail(ErrorKind.FAILED, "this agent restarted during the pull of " + f.id() + " and cannot serve it again: "
                    + ex.getMessage() + "; the guest runs at the destination, whose pull waits: it needs the operator");
        }
    }

    private synchronized void resumeOn(PeerChannel next) {
        PeerChannel old = channel;
        responder.attach(next);
        channel = next;
        next.start(this);
        if (old != null && old != next) old.close();
        record.waitingFor(null);
    }

    @Override
    public void onFrame(PeerChannel ch, Frame frame) {
        if (ch != channel) return;
        if (frame instanceof Frame.Pull p) {
            responder.onPull(p);
        } else if (frame instanceof Frame.Resume r) {
            LOG.info("migration {}: destination {} resumed the pull: {} chunks installed, {} missing", file.id(), ch.remote(),
                    r.installedChunks(), r.missingChunks());
        } else if (frame instanceof Frame.Done) {
            finish();
        }
    }

    @Override
    public void onClosed(PeerChannel ch, Throwable cause) {
        if (ch == channel && !record.phase().terminal()) record.waitingFor("destination");
    }

    private void finish() {
        LOG.info("migration {}: the destination holds the whole disk; source QEMU told to quit", file.id());
        record.phase(MigrationPhase.FINISHING);
        registry.forgetResumes(file.id());
        tokens.revoke(file.id());
        responder.close();
        export.close();
        try {
            qmp.call(new Quit());
        } catch (RuntimeException e) {
            LOG.warn("migration {}: quit of the source QEMU: {}", file.id(), e.toString());
        }
        qmp.close();
        SourcePullFile.remove(dir);
        PeerChannel ch = channel;
        if (ch != null) ch.close();   // the destination waits for this close to know DONE was read
        record.complete(new ControlEvent.Report(file.id(), ControlCodec.tree(Map.of("servedPullBytes", responder.bytesSent(),
                "takenBackAfterRestart", true)), "migration " + file.id() + ": pull served to its end after a source agent restart ("
                + responder.bytesSent() + " bytes since); the guest runs at the destination"));
    }
}
