package io.vmmig.agent.peer;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerProtocolException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.security.auth.x500.X500Principal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's side of the opening: the first frame must be a HELLO that the {@link MigrationAuthorizer}
 * grants. Then WELCOME and the channel goes to the {@link PeerAcceptor}; otherwise one ERROR frame, the
 * connection is closed, and nothing more is read or written.
 */
final class ServerHelloGate extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ServerHelloGate.class);

    private enum State { WAITING, ADMITTED, REFUSED }

    private final NettyPeerChannel peer;
    private final MigrationAuthorizer authorizer;
    private final PeerAcceptor acceptor;
    private final Duration helloTimeout;
    private final Runnable onAdmitted;
    private volatile State state = State.WAITING;
    private volatile String refusal;
    private ScheduledFuture<?> timeout;

    ServerHelloGate(NettyPeerChannel peer, MigrationAuthorizer authorizer, PeerAcceptor acceptor, Duration helloTimeout) {
        this(peer, authorizer, acceptor, helloTimeout, () -> { });
    }

    /** @param onAdmitted told (on the I/O thread) when the HELLO is granted */
    ServerHelloGate(NettyPeerChannel peer, MigrationAuthorizer authorizer, PeerAcceptor acceptor, Duration helloTimeout,
                    Runnable onAdmitted) {
        this.onAdmitted = onAdmitted;
        this.peer = peer;
        this.authorizer = authorizer;
        this.acceptor = acceptor;
        this.helloTimeout = helloTimeout;
    }

    /** Why the client was refused after its HELLO, or null. */
    String refusal() {
        return refusal;
    }

    boolean admitted() {
        return state == State.ADMITTED;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        timeout = ctx.executor().schedule(() -> {
            if (state == State.WAITING) refuse(ctx, Frame.Error.PROTOCOL, "no HELLO within " + helloTimeout.toMillis() + " ms");
        }, helloTimeout.toMillis(), TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timeout != null) timeout.cancel(false);
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        switch (state) {
            case ADMITTED -> ctx.fireChannelRead(msg);
            case REFUSED -> { } // dropped: nothing is read after a refusal
            case WAITING -> {
                ctx.channel().config().setAutoRead(false);
                hello(ctx, (Frame) msg);
            }
        }
    }

    private void hello(ChannelHandlerContext ctx, Frame frame) {
        if (!(frame instanceof Frame.Hello hello)) {
            refuse(ctx, Frame.Error.PROTOCOL, "expected HELLO first, got " + (frame.type() == null ? frame : frame.type()));
            return;
        }
        if (hello.version() != Frame.PROTOCOL_VERSION) {
            refuse(ctx, Frame.Error.PROTOCOL, "protocol version " + hello.version() + " not supported, this agent speaks "
                    + Frame.PROTOCOL_VERSION);
            return;
        }
        ClientIdentity client = new ClientIdentity(peer.remote(), subject(ctx));
        Authorization verdict;
        try {
            verdict = authorizer.authorize(hello.migrationId(), hello.token(), client);
        } catch (RuntimeException e) {
            log.error("authorizer failed on {} for migration {}", client.describe(), hello.migrationId(), e);
            refuse(ctx, Frame.Error.INTERNAL, "authorization failed: " + e.getMessage());
            return;
        }
        if (verdict instanceof Authorization.Refused r) {
            refuse(ctx, Frame.Error.UNAUTHORIZED, r.reason());
            return;
        }
        state = State.ADMITTED;
        timeout.cancel(false);
        onAdmitted.run();
        log.info("peer {} admitted to migration {}", client.describe(), hello.migrationId());
        ctx.writeAndFlush(new Frame.Welcome(Frame.PROTOCOL_VERSION));
        peer.admitted();
        peer.onDeliveryThread(() -> acceptor.accept(hello.migrationId(), client, peer));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
        if (state == State.WAITING && t instanceof DecoderException && t.getCause() instanceof PeerProtocolException p) {
            refuse(ctx, Frame.Error.PROTOCOL, p.getMessage());
            return;
        }
        ctx.fireExceptionCaught(t);
    }

    private void refuse(ChannelHandlerContext ctx, int code, String reason) {
        state = State.REFUSED;
        refusal = reason;
        if (timeout != null) timeout.cancel(false);
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(new Frame.Error(code, reason))
                .addListener(f -> peer.fail(new PeerTransportException("refused " + peer.remote() + ": " + reason)));
    }

    private static X500Principal subject(ChannelHandlerContext ctx) {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null) return null;
        try {
            Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
            return ((X509Certificate) chain[0]).getSubjectX500Principal();
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }
}
