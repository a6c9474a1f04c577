package io.vmmig.agent.peer;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/** The peer listener's open connections, counted against its {@link PeerListenerLimits}. Thread-safe. */
final class ConnectionCounts {
    private final PeerListenerLimits limits;
    // guarded by this
    private int open;
    private int unauthorised;
    private final Map<InetAddress, Integer> unauthorisedByHost = new HashMap<>();
    private final AtomicLong refused = new AtomicLong();

    ConnectionCounts(PeerListenerLimits limits) {
        this.limits = limits;
    }

    /** One accepted connection: counted, or refused with why ({@link Slot#refusal()}; then nothing is counted). */
    synchronized Slot open(InetAddress host) {
        int fromHost = unauthorisedByHost.getOrDefault(host, 0);
        String over = open >= limits.maxConnections() ? open + " connections open (at most " + limits.maxConnections() + ")"
                : unauthorised >= limits.maxUnauthorised() ? unauthorised + " connections not yet authorised (at most "
                        + limits.maxUnauthorised() + ")"
                : fromHost >= limits.maxUnauthorisedPerHost() ? fromHost + " connections from " + host.getHostAddress()
                        + " not yet authorised (at most " + limits.maxUnauthorisedPerHost() + " per host)"
                : null;
        if (over != null) return new Slot(host, over, refused.incrementAndGet());
        open++;
        unauthorised++;
        unauthorisedByHost.merge(host, 1, Integer::sum);
        return new Slot(host, null, 0);
    }

    synchronized int open() {
        return open;
    }

    synchronized int unauthorised() {
        return unauthorised;
    }

    long refused() {
        return refused.get();
    }

    /** A refusal is logged the first time and then once every 1000, so a flood does not flood the log too. */
    static void logRefusal(Logger log, InetSocketAddress remote, Slot refusedSlot) {
        long n = refusedSlot.refusedNumber;
        String why = refusedSlot.refusal;
        if (n == 1 || n % 1000 == 0)
            log.warn("peer connection from {} closed at once: {} ({} refused so far)", remote, why, n);
    }

    private synchronized void authorised(InetAddress host) {
        unauthorised--;
        unauthorisedByHost.computeIfPresent(host, (h, n) -> n <= 1 ? null : n - 1);
    }

    private synchronized void closed(InetAddress host, boolean wasAuthorised) {
        open--;
        if (!wasAuthorised) authorised(host);
    }

    /** One counted connection. */
    final class Slot {
        private final InetAddress host;
        private final String refusal;
        private final long refusedNumber;
        private boolean authorised;
        private boolean closed;

        private Slot(InetAddress host, String refusal, long refusedNumber) {
            this.host = host;
            this.refusal = refusal;
            this.refusedNumber = refusedNumber;
        }

        /** Why the connection was not admitted, or null. */
        String refusal() {
            return refusal;
        }

        /** Its HELLO was granted: it no longer counts as not yet authorised. */
        void authorised() {
            synchronized (ConnectionCounts.this) {
                if (refusal != null || authorised || closed) return;
                authorised = true;
                ConnectionCounts.this.authorised(host);
            }
        }

        void closed() {
            synchronized (ConnectionCounts.this) {
                if (refusal != null || closed) return;
                closed = true;
                ConnectionCounts.this.closed(host, authorised);
            }
        }
    }
}
