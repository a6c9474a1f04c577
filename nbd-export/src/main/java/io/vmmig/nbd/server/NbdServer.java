package io.vmmig.nbd.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An NBD server (fixed newstyle, structured replies, base:allocation block status) serving one or
 * more {@link NbdExport}s on a UNIX or TCP socket. Start with {@link #start}; {@link #close} stops
 * listening, drops the connections and removes the UNIX socket file.
 */
public final class NbdServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);

    private final ServerSocketChannel listener;
    private final SocketAddress address;
    private final Map<String, NbdExport> exports;
    private final NbdExport defaultExport;
    private final NbdServerConfig config;
    private final ExecutorService workers;
    private final BufferPool pool;
    private final ScheduledExecutorService timer;
    private final Thread acceptor;
    private final Set<NbdConnection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connectionIds = new AtomicInteger();
    private volatile boolean closed;

    private NbdServer(ServerSocketChannel listener, SocketAddress address, List<NbdExport> exports, NbdServerConfig config) {
        this.listener = listener;
        this.address = address;
        Map<String, NbdExport> byName = new LinkedHashMap<>();
        for (NbdExport e : exports) {
            if (byName.put(e.name(), e) != null) throw new IllegalArgumentException("duplicate export name '" + e.name() + "'");
        }
        this.exports = Map.copyOf(byName);
        this.defaultExport = exports.get(0);
        this.config = config;
        this.pool = new BufferPool(config.maxPayload(), config.maxInFlightBytes());
        this.workers = Executors.newFixedThreadPool(config.workerThreads(), daemonThreads("nbd-worker"));
        this.timer = Executors.newSingleThreadScheduledExecutor(daemonThreads("nbd-timer"));
        this.acceptor = daemonThreads("nbd-accept").newThread(this::acceptLoop);
    }

    /**
     * Binds {@code address} ({@link UnixDomainSocketAddress} or {@link InetSocketAddress}, port 0 for
     * any) and starts serving. The first export is the default one (empty name) unless one is named "".
     */
    public static NbdServer start(SocketAddress address, List<NbdExport> exports, NbdServerConfig config) throws IOException {
        if (exports.isEmpty()) throw new IllegalArgumentException("at least one export is required");
        ServerSocketChannel ch = address instanceof UnixDomainSocketAddress
                ? ServerSocketChannel.open(StandardProtocolFamily.UNIX) : ServerSocketChannel.open();
        try {
            ch.bind(address, 64);
            NbdServer server = new NbdServer(ch, ch.getLocalAddress(), exports, config);
            server.acceptor.start();
            LOG.info("NBD server listening on {} with exports {}", server.address, server.exports.keySet());
            return server;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    public static NbdServer start(SocketAddress address, List<NbdExport> exports) throws IOException {
        return start(address, exports, NbdServerConfig.defaults());
    }

    /** @return the bound address (with the real port for TCP) */
    public SocketAddress address() {
        return address;
    }

    /** @return connections currently open */
    public int connectionCount() {
        return connections.size();
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel socket;
            try {
                socket = listener.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (!closed) LOG.warn("accept on {} failed: {}", address, e.toString());
                return;
            }
            try {
                if (!(address instanceof UnixDomainSocketAddress)) socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
                if (config.socketSendBuffer() > 0) socket.setOption(StandardSocketOptions.SO_SNDBUF, config.socketSendBuffer());
            } catch (IOException e) {
                LOG.debug("TCP_NODELAY not set: {}", e.toString());
            }
            String peer = "nbd#" + connectionIds.incrementAndGet();
            NbdConnection[] self = new NbdConnection[1];
            self[0] = new NbdConnection(new ConnectionChannel(socket), exports, defaultExport, config, workers, pool, timer, peer,
                    () -> connections.remove(self[0]));
            connections.add(self[0]);
            Thread t = new Thread(self[0], peer);
            t.setDaemon(true);
            t.start();
            if (closed) self[0].close();
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            LOG.debug("closing listener: {}", e.toString());
        }
        for (NbdConnection c : connections) c.close();
        workers.shutdown();
        timer.shutdownNow();
        try {
            acceptor.join(5000);
            if (!workers.awaitTermination(10, TimeUnit.SECONDS)) workers.shutdownNow();
        } catch (InterruptedException e) {
            workers.shutdownNow();
            Thread.currentThread().interrupt();
        }
        if (address instanceof UnixDomainSocketAddress u) {
            try {
                Files.deleteIfExists(u.getPath());
            } catch (IOException e) {
                LOG.debug("removing {}: {}", u.getPath(), e.toString());
            }
        }
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
