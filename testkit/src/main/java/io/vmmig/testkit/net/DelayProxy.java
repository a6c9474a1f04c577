package io.vmmig.testkit.net;

import io.vmmig.testkit.TestKitException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A userspace proxy that adds a fixed one-way delay to each direction (RTT + 2 x delay) without limiting
 * throughput: every chunk read is timestamped and written to the other side {@code delay} later; the end
 * of a stream (half-close) is delayed the same way. Memory per direction is bounded by
 * {@code bufferBytes} (default 16 MiB, enough for ~5 Gbit/s at 25 ms; rate x delay must fit). Each
 * accepted connection opens one connection to the target; four threads per connection.
 *
 * <p>In this JVM: {@code DelayProxy.start(Endpoint.tcp("127.0.0.1", 0), target, Duration.ofMillis(25))};
 * inside a lab namespace: {@link TcpForwarder} (runs {@link DelayProxyMain} there).
 */
public final class DelayProxy implements AutoCloseable {
    /** Default bound on queued bytes per direction of each connection. */
    public static final long DEFAULT_BUFFER_BYTES = 16L << 20;
    private static final Logger LOG = LoggerFactory.getLogger(DelayProxy.class);
    private static final AtomicInteger IDS = new AtomicInteger();

    private final ServerSocketChannel server;
    private final Endpoint listening;
    private final Endpoint target;
    private final long delayNanos;
    private final long bufferBytes;
    private final String name = "delay-proxy-" + IDS.incrementAndGet();
    private final Set<ProxiedConnection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicLong toTarget = new AtomicLong();
    private final AtomicLong fromTarget = new AtomicLong();
    private volatile boolean closed;

    private DelayProxy(ServerSocketChannel server, Endpoint listening, Endpoint target, Duration delay,
            long bufferBytes) {
        this.server = server;
        this.listening = listening;
        this.target = target;
        this.delayNanos = delay.toNanos();
        this.bufferBytes = bufferBytes;
    }

    /** Listens on {@code listen} (TCP port 0: any) and forwards to {@code target} with {@code oneWayDelay}. */
    public static DelayProxy start(Endpoint listen, Endpoint target, Duration oneWayDelay) {
        return start(listen, target, oneWayDelay, DEFAULT_BUFFER_BYTES);
    }

    /** As {@link #start(Endpoint, Endpoint, Duration)} with an explicit bound per direction. */
    public static DelayProxy start(Endpoint listen, Endpoint target, Duration oneWayDelay, long bufferBytes) {
        if (oneWayDelay.isNegative()) {
            throw new TestKitException("delay proxy: negative delay " + oneWayDelay);
        }
        ServerSocketChannel server;
        Endpoint bound;
        try {
            server = listen.listen();
            bound = Endpoint.boundTo(listen, server);
        } catch (IOException e) {
            throw new TestKitException("delay proxy cannot listen on " + listen.spec() + ": " + e.getMessage(), e);
        }
        DelayProxy proxy = new DelayProxy(server, bound, target, oneWayDelay, bufferBytes);
        Thread t = new Thread(proxy::acceptLoop, proxy.name + "-accept");
        t.setDaemon(true);
        t.start();
        LOG.info("{} {} -> {} delay {} ms each way", proxy.name, bound.spec(), target.spec(),
                oneWayDelay.toMillis());
        return proxy;
    }

    /** Where clients connect (with the real port if 0 was asked). */
    public Endpoint listenEndpoint() {
        return listening;
    }

    /** Connections accepted so far. */
    public int acceptedConnections() {
        return accepted.get();
    }

    /** Bytes released towards the target so far (all connections; counted just before the write). */
    public long bytesToTarget() {
        return toTarget.get();
    }

    /** Bytes released back towards clients so far (all connections; counted just before the write). */
    public long bytesFromTarget() {
        return fromTarget.get();
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel client;
            try {
                client = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("{} accept failed: {}", name, e.toString());
                }
                return;
            }
            int n = accepted.incrementAndGet();
            SocketChannel upstream;
            try {
                if (client.getLocalAddress() instanceof java.net.InetSocketAddress) {
                    client.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
                }
                upstream = target.connect();
            } catch (IOException e) {
                LOG.warn("{} cannot connect to {}: {}", name, target.spec(), e.toString());
                closeQuietly(client);
                continue;
            }
            ProxiedConnection c = new ProxiedConnection(client, upstream, name + "-c" + n);
            connections.add(c);
            c.start();
        }
    }

    /** Stops listening and cuts every connection. Idempotent. */
    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        if (listening instanceof Endpoint.Unix u) {
            try {
                java.nio.file.Files.deleteIfExists(u.path());
            } catch (IOException ignored) {
                // a leftover socket file is replaced by the next listen
            }
        }
        connections.forEach(ProxiedConnection::cut);
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    /** A client connection and its upstream, one {@link DelayedPipe} per direction. */
    private final class ProxiedConnection implements DelayedPipe.Listener {
        private final SocketChannel client;
        private final SocketChannel upstream;
        private final DelayedPipe up;
        private final DelayedPipe down;
        private final AtomicInteger finished = new AtomicInteger();

        ProxiedConnection(SocketChannel client, SocketChannel upstream, String name) {
            this.client = client;
            this.upstream = upstream;
            this.up = new DelayedPipe(client, upstream, new DelayLine(delayNanos, bufferBytes), name + "-up", this,
                    toTarget);
            this.down = new DelayedPipe(upstream, client, new DelayLine(delayNanos, bufferBytes), name + "-down",
                    this, fromTarget);
        }

        void start() {
            up.start();
            down.start();
        }

        @Override
        public void finished(DelayedPipe pipe) {
            if (finished.incrementAndGet() == 2) {
                cut();
            }
        }

        @Override
        public void failed(DelayedPipe pipe, IOException error) {
            if (!closed) {
                LOG.debug("{} failed: {}", pipe.name(), error.toString());
            }
            cut();
        }

        void cut() {
            up.abort();
            down.abort();
            closeQuietly(client);
            closeQuietly(upstream);
            connections.remove(this);
        }
    }
}
