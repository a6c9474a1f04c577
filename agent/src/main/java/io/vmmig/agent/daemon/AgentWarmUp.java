package io.vmmig.agent.daemon;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationProgress;
import io.vmmig.agent.peer.PeerTls;
import io.vmmig.agent.peer.TlsWarmUp;
import io.vmmig.agent.session.PeerMessage;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a freshly started agent runs once, on a background thread of low priority, so that its first
 * migration does not pay for the JVM's first use of the code on its path: a TLS handshake between its own
 * client and server contexts in memory ({@link TlsWarmUp}), and the JSON of the control socket's and the
 * agents' messages encoded and decoded. It touches no QEMU, socket or file and changes no state; a
 * migration that comes meanwhile simply runs beside it.
 */
final class AgentWarmUp {
    private static final Logger LOG = LoggerFactory.getLogger(AgentWarmUp.class);

    private final PeerTls server;
    private final PeerTls client;
    private final Path certificate;

    /** {@code server}, {@code client}: the agent's TLS contexts (null when insecure: no handshake then). */
    AgentWarmUp(PeerTls server, PeerTls client, Path certificate) {
        this.server = server;
        this.client = client;
        this.certificate = certificate;
    }

    void startInBackground() {
        Thread t = new Thread(this::run, "vmmig-warm-up");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    void run() {
        long t0 = System.nanoTime();
        boolean tls = server != null && client != null && TlsWarmUp.handshake(server, client, certificate);
        try {
            messages();
        } catch (RuntimeException e) {
            LOG.debug("warm-up of the message codecs: {}", e.toString());
        }
        LOG.debug("warm-up done in {} ms (TLS handshake in memory {})", (System.nanoTime() - t0) / 1_000_000,
                server == null ? "not used" : tls ? "completed" : "ran, not completed");
    }

    /** Each message type once through the codec, both ways. */
    private static void messages() {
        for (ControlRequest r : List.of(ControlRequest.migrate("/run/vm1/qmp.sock", "hostb:7410", "hybrid", 12_500_000L, 2, 1 << 18,
                null).withMemory(new ControlRequest.Memory(1L << 30, 300L, false)), ControlRequest.list(), ControlRequest.status("m-0"))) {
            ControlCodec.decodeRequest(ControlCodec.encode(r));
        }
        MigrationProgress p = new MigrationProgress(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        for (ControlEvent e : List.<ControlEvent>of(new ControlEvent.Accepted("m-0", "vm1", "hostb:7410", "hybrid"),
                new ControlEvent.PhaseChange("m-0", MigrationPhase.PREPARING, 1), new ControlEvent.Progress("m-0", MigrationPhase.PUSHING, p),
                new ControlEvent.Failure("m-0", ErrorKind.FAILED, "warm-up"))) {
            ControlCodec.decodeEvent(ControlCodec.encode(e));
        }
        for (PeerMessage m : List.<PeerMessage>of(
                new PeerMessage.Prepare("m-0", "hybrid", 1 << 18, "disk0", "qcow2", 1L << 30, 1L << 20, null, "vm1.qcow2", null,
                        ControlCodec.tree(List.of("-machine", "q35")), "vm1", "7.2.0"),
                new PeerMessage.Prepared("/var/lib/vmmig/images/vm1.qcow2", "dG9rZW4="), new PeerMessage.ResumeAt(7410, "dG9rZW4="),
                new PeerMessage.Ready(40000, null, null, null, true), new PeerMessage.Progress(1, 2, 3, 4, "running"),
                new PeerMessage.Cancel("warm-up"), new PeerMessage.Failed(ErrorKind.FAILED, "warm-up"))) {
            try {
                ControlCodec.mapper().readValue(ControlCodec.encode(m), PeerMessage.class);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
