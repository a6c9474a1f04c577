package io.vmmig.agent.peer;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import io.vmmig.strategy.peer.Frame;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source agent's side: connects to a {@link PeerServer}, completes mutual TLS (checking the server's
 * certificate and host name), sends the HELLO and returns the channel once the WELCOME came, all
 * within one deadline.
 */
public final class PeerConnector implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeerConnector.class);
    private static final AttributeKey<NettyPeerChannel> PEER = AttributeKey.valueOf("vmmig-peer");
    private static final AttributeKey<ClientHelloGate> GATE = AttributeKey.valueOf("vmmig-peer-gate");

    private final PeerTls tls;
    private final PeerTransportOptions options;
    private final EventLoopGroup group = new NioEventLoopGroup(2);

    private PeerConnector(PeerTls tls, PeerTransportOptions options) {
        this.tls = tls;
        this.options = options;
    }

    /** Mutual TLS with this client context ({@link PeerTls#client}). */
    public static PeerConnector tls(PeerTls tls, PeerTransportOptions options) {
        if (!tls.isClient()) throw new IllegalArgumentException("a server TLS context given to the peer connector");
        return new PeerConnector(tls, options);
    }

    /** Plain TCP, for a server started with {@code insecure()}. */
    public static PeerConnector insecure(PeerTransportOptions options) {
        log.warn("*** INSECURE *** peer connections in plain TCP: no encryption, the destination is not authenticated."
                + " Use only in a lab.");
        return new PeerConnector(null, options);
    }

    /**
     * Opens a channel for {@code migrationId} to {@code host:port}, presenting {@code token}.
     *
     * @throws PeerUnauthorizedException the destination refused the HELLO
     * @throws PeerTransportException    could not connect, TLS failed, or the deadline passed
     */
    public NettyPeerChannel connect(String host, int port, String migrationId, byte[] token, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String remote = host + ":" + port;
        Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, timeout.toMillis()))
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(options.writeLowWaterMark(), options.writeHighWaterMark()))
                .option(ChannelOption.MESSAGE_SIZE_ESTIMATOR, FrameSizeEstimator.INSTANCE)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override protected void initChannel(SocketChannel ch) {
                        NettyPeerChannel peer = new NettyPeerChannel(ch, remote, options);
                        ClientHelloGate gate = new ClientHelloGate(peer);
                        ch.attr(PEER).set(peer);
                        ch.attr(GATE).set(gate);
                        ChannelPipeline p = ch.pipeline();
                        if (tls != null) {
                            SslHandler ssl = tls.newHandler(ch.alloc(), host, port);
                            ssl.setHandshakeTimeoutMillis(options.handshakeTimeout().toMillis());
                            p.addLast("tls", ssl);
                        }
                        p.addLast("frame-decoder", new FrameByteDecoder(options.maxFrameLength()));
                        p.addLast("frame-encoder", FrameByteEncoder.INSTANCE);
                        p.addLast("hello-gate", gate);
                        p.addLast("peer", peer.inboundHandler());
                    }
                });
        ChannelFuture connecting = b.connect(host, port);
        if (!connecting.awaitUninterruptibly(remainingMillis(deadline))) {
            connecting.cancel(false);
            connecting.channel().close();
            throw new PeerTransportException("cannot connect to " + remote + " within " + timeout.toMillis() + " ms");
        }
        if (!connecting.isSuccess()) {
            Throwable c = connecting.cause();
            throw new PeerTransportException("cannot connect to " + remote + ": " + c.getMessage(), c);
        }
        Channel ch = connecting.channel();
        NettyPeerChannel peer = ch.attr(PEER).get();
        ch.writeAndFlush(new Frame.Hello(Frame.PROTOCOL_VERSION, migrationId, token));
        try {
            ch.attr(GATE).get().welcomed().get(remainingMillis(deadline), TimeUnit.MILLISECONDS);
            return peer;
        } catch (TimeoutException e) {
            peer.close();
            throw new PeerTransportException("no WELCOME from " + remote + " within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            peer.close();
            throw new PeerTransportException("interrupted while connecting to " + remote, e);
        } catch (ExecutionException e) {
            peer.close();
            if (e.getCause() instanceof PeerUnauthorizedException u) throw new PeerUnauthorizedException(remote, u.code(), u.reason());
            throw new PeerTransportException(e.getCause().getMessage(), e.getCause());
        }
    }

    private static long remainingMillis(long deadline) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    /** Closes every channel this connector opened. */
    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
