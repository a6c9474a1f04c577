package io.vmmig.agent.peer;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination agent's listener for source agents: mutual TLS (or, with {@code insecure()}, plain
 * TCP and a loud warning), then every connection must open with a HELLO that the
 * {@link MigrationAuthorizer} grants before it reaches the {@link PeerAcceptor}.
 */
public final class PeerServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeerServer.class);

    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final Channel listener;
    private final ChannelGroup connections;
    private final ConnectionCounts counts;

    private PeerServer(EventLoopGroup boss, EventLoopGroup workers, Channel listener, ChannelGroup connections,
                       ConnectionCounts counts) {
        this.counts = counts;
        this.boss = boss;
        this.workers = workers;
        this.listener = listener;
        this.connections = connections;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The address actually bound (port 0 picks a free one). */
    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    public int port() {
        return address().getPort();
    }

    /** Connections open now (each counted until it closes). */
    public int openConnections() {
        return counts.open();
    }

    /** Connections open now whose HELLO was not yet granted. */
    public int unauthorisedConnections() {
        return counts.unauthorised();
    }

    /** Connections closed at once because a {@link PeerListenerLimits limit} was reached, since the start. */
    public long refusedConnections() {
        return counts.refused();
    }

    /** Stops listening and closes every connection. */
    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** Configures and starts a {@link PeerServer}. */
    public static final class Builder {
        private String host = "0.0.0.0";
        private int port;
        private PeerTls tls;
        private boolean insecure;
        private MigrationAuthorizer authorizer;
        private PeerAcceptor acceptor;
        private PeerTransportOptions options = PeerTransportOptions.DEFAULT;
        private PeerListenerLimits limits = PeerListenerLimits.DEFAULT;
        private Consumer<String> onRefused = reason -> { };

        private Builder() { }

        public Builder bind(String host, int port) {
            this.host = host;
            this.port = port;
            return this;
        }

        /** Mutual TLS with this server context ({@link PeerTls#server}). */
        public Builder tls(PeerTls tls) {
            if (tls.isClient()) throw new IllegalArgumentException("a client TLS context given to the peer server");
            this.tls = tls;
            return this;
        }

        /** Plain TCP: no encryption, no peer authentication (tokens are still checked). For tests and labs. */
        public Builder insecure() {
            this.insecure = true;
            return this;
        }

        public Builder authorizer(MigrationAuthorizer authorizer) {
            this.authorizer = authorizer;
            return this;
        }

        public Builder acceptor(PeerAcceptor acceptor) {
            this.acceptor = acceptor;
            return this;
        }

        public Builder options(PeerTransportOptions options) {
            this.options = options;
            return this;
        }

        /** How many connections are held at once ({@link PeerListenerLimits#DEFAULT} if not set). */
        public Builder limits(PeerListenerLimits limits) {
            this.limits = Objects.requireNonNull(limits, "limits");
            return this;
        }

        /** Told (besides the WARN log) why each refused connection was refused. */
        public Builder onRefused(Consumer<String> onRefused) {
            this.onRefused = onRefused;
            return this;
        }

        public PeerServer start() {
            Objects.requireNonNull(authorizer, "authorizer");
            Objects.requireNonNull(acceptor, "acceptor");
            if ((tls == null) == !insecure)
                throw new IllegalStateException("choose exactly one of tls(...) and insecure() for the peer server");
            PeerTls tls = this.tls;
            PeerTransportOptions options = this.options;
            MigrationAuthorizer authorizer = this.authorizer;
            PeerAcceptor acceptor = this.acceptor;
            Consumer<String> onRefused = this.onRefused;
            ConnectionCounts counts = new ConnectionCounts(this.limits);
            EventLoopGroup boss = new NioEventLoopGroup(1);
            EventLoopGroup workers = new NioEventLoopGroup(2);
            ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
            ServerBootstrap b = new ServerBootstrap().group(boss, workers).channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                            new WriteBufferWaterMark(options.writeLowWaterMark(), options.writeHighWaterMark()))
                    .childOption(ChannelOption.MESSAGE_SIZE_ESTIMATOR, FrameSizeEstimator.INSTANCE)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override protected void initChannel(SocketChannel ch) {
                            InetSocketAddress r = ch.remoteAddress();
                            ConnectionCounts.Slot slot = counts.open(r.getAddress());
                            if (slot.refusal() != null) {   // before TLS: a connection over a limit costs nothing more
                                ch.config().setAutoRead(false);
                                ch.close();
                                ConnectionCounts.logRefusal(log, r, slot);
                                return;
                            }
                            ch.closeFuture().addListener(f -> slot.closed());
                            connections.add(ch);
                            String remote = r.getAddress().getHostAddress() + ":" + r.getPort();
                            NettyPeerChannel peer = new NettyPeerChannel(ch, remote, options);
                            ServerHelloGate gate = new ServerHelloGate(peer, authorizer, acceptor, options.handshakeTimeout(),
                                    slot::authorised);
                            ChannelPipeline p = ch.pipeline();
                            if (tls != null) {
                                SslHandler ssl = tls.newHandler(ch.alloc(), r.getAddress().getHostAddress(), r.getPort());
                                ssl.setHandshakeTimeoutMillis(options.handshakeTimeout().toMillis());
                                p.addLast("tls", ssl);
                            }
                            p.addLast("frame-decoder", new FrameByteDecoder(options.maxFrameLength()));
                            p.addLast("frame-encoder", FrameByteEncoder.INSTANCE);
                            p.addLast("hello-gate", gate);
                            p.addLast("peer", peer.inboundHandler());
                            peer.closed().whenComplete((v, t) -> {
                                if (gate.admitted()) return;
                                String reason = gate.refusal() != null ? "refused " + remote + ": " + gate.refusal()
                                        : t != null ? t.getMessage() : "connection from " + remote + " closed before its HELLO";
                                log.warn("peer connection refused: {}", reason);
                                onRefused.accept(reason);
                            });
                        }
                    });
            try {
                Channel listener = b.bind(host, port).syncUninterruptibly().channel();
                PeerServer server = new PeerServer(boss, workers, listener, connections, counts);
                if (insecure) {
                    log.warn("*** INSECURE *** peer server on {} speaks plain TCP: no encryption, no peer certificates; anyone"
                            + " on the network can read and alter migrated disks. Use only in a lab.", server.address());
                } else {
                    log.info("peer server listening on {} (mutual TLS 1.3)", server.address());
                }
                return server;
            } catch (RuntimeException e) {
                boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                throw new PeerTransportException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
            }
        }
    }
}
