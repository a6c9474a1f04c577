package io.vmmig.agent.session;

import io.vmmig.agent.daemon.MigrationRecord;
import io.vmmig.agent.peer.PeerConnector;
import io.vmmig.agent.peer.PeerTransportException;
import io.vmmig.agent.peer.PeerUnauthorizedException;
import io.vmmig.strategy.destination.DestinationDiskTransfer;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.peer.PeerChannelClosedException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination's way back to the source when the pull's connection breaks after the switchover:
 * it dials the source agent's peer listener (mutual TLS, as any peer connection) with the migration
 * id and the resume token the source gave ({@link PeerMessage.ResumeAt}), and resumes the transfer on
 * the new channel. It retries for ever, 0.5 s after the cut and then doubling up to every 10 s (a
 * long-lost source is the operator's call, never a timeout's); {@code vmmig status} shows the
 * migration waiting for the source meanwhile. One loop at a time; {@link #stop} ends it.
 */
final class PullReconnector {
    private static final Logger LOG = LoggerFactory.getLogger(PullReconnector.class);
    static final Duration FIRST_DELAY = Duration.ofMillis(500);
    static final Duration MAX_DELAY = Duration.ofSeconds(10);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private final String id;
    private final PeerConnector connector;
    private final String host;
    private final int port;
    private final byte[] token;
    private final DestinationDiskTransfer transfer;
    private final MigrationRecord record;
    /** How often {@link #awaitDone} looks whether the link is down while it waits for DONE to go out. */
    private static final Duration LINK_CHECK = Duration.ofSeconds(1);
    private Thread loop;             // guarded by this
    private volatile boolean stopped;
    private final java.util.concurrent.CountDownLatch stopping = new java.util.concurrent.CountDownLatch(1);

    PullReconnector(String id, PeerConnector connector, String host, int port, byte[] token,
                    DestinationDiskTransfer transfer, MigrationRecord record) {
        this.id = id;
        this.connector = connector;
        this.host = host;
        this.port = port;
        this.token = token.clone();
        this.transfer = transfer;
        this.record = record;
    }

    /** The host part of a peer's {@code ADDRESS:PORT}. */
    static String hostOf(String remote) {
        int colon = remote.lastIndexOf(':');
        return colon > 0 ? remote.substring(0, colon) : remote;
    }

    /** The link broke: start reconnecting unless a loop runs already. */
    synchronized void linkLost() {
        if (stopped) return;
        record.waitingFor("source");
        if (loop != null) return;   // it checks the transfer before it ends
        loop = new Thread(this::reconnect, "vmmig-resume-" + id);
        loop.setDaemon(true);
        loop.start();
    }

    /**
     * Waits until {@code transfer} told the source DONE (the source keeps its QEMU until it hears it,
     * so there is no deadline), making sure a reconnection runs whenever the link is down meanwhile
     * ({@code reconnector} null: the transfer's own owner reconnects).
     */
    static void awaitDone(DestinationDiskTransfer transfer, PullReconnector reconnector) throws InterruptedException {
        while (true) {
            try {
                transfer.doneSent().get(LINK_CHECK.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                return;
            } catch (java.util.concurrent.TimeoutException e) {
                if (reconnector != null && !transfer.connected()) reconnector.linkLost();
            } catch (java.util.concurrent.ExecutionException e) {
                return;   // never completes exceptionally
            }
        }
    }

    void stop() {
        stopped = true;
        stopping.countDown();
        Thread t;
        synchronized (this) {
            t = loop;
        }
        if (t != null) t.interrupt();
    }

    private void reconnect() {
        long delay = FIRST_DELAY.toMillis();
        int attempt = 0;
        while (!stopped) {
            try {
                if (stopping.await(delay, java.util.concurrent.TimeUnit.MILLISECONDS)) throw new InterruptedException("stopped");   // the backoff, cut short by stop()
            } catch (InterruptedException e) {
                synchronized (this) {
                    loop = null;
                }
                return;
            }
            attempt++;
            PeerChannel ch = null;
            try {
                ch = connector.connect(host, port, id, token, CONNECT_TIMEOUT);
                transfer.resume(ch);
                LOG.info("migration {}: pull resumed with the source {}:{} after {} attempt(s)", id, host, port, attempt);
                synchronized (this) {
                    if (transfer.connected()) {   // not cut again meanwhile (linkLost sees loop == null from here)
                        record.waitingFor(null);
                        loop = null;
                        return;
                    }
                }
                delay = FIRST_DELAY.toMillis() / 2;
                attempt = 0;
            } catch (PeerUnauthorizedException e) {
                // e.g. the source agent restarted without this migration: still keep trying, say why
                LOG.warn("migration {}: the source {}:{} refused the resume (attempt {}): {}", id, host, port, attempt, e.getMessage());
            } catch (PeerTransportException | PeerChannelClosedException | IllegalStateException e) {
                LOG.info("migration {}: source {}:{} not reachable yet (attempt {}): {}", id, host, port, attempt, e.getMessage());
                if (ch != null) ch.close();
            }
            delay = Math.min(MAX_DELAY.toMillis(), delay * 2);
        }
    }
}
