package io.vmmig.agent.peer;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vmmig.strategy.peer.Frame;
import java.util.concurrent.CompletableFuture;

/** The client's side of the opening: waits for the WELCOME (or the ERROR) answering our HELLO. */
final class ClientHelloGate extends ChannelInboundHandlerAdapter {
    private final NettyPeerChannel peer;
    private final CompletableFuture<Void> welcomed = new CompletableFuture<>();

    ClientHelloGate(NettyPeerChannel peer) {
        this.peer = peer;
        peer.closed().whenComplete((v, t) -> welcomed.completeExceptionally(t != null ? t
                : new PeerTransportException("connection to " + peer.remote() + " closed before the WELCOME")));
    }

    /** Completes on WELCOME; fails with {@link PeerUnauthorizedException} or what broke the connection. */
    CompletableFuture<Void> welcomed() {
        return welcomed;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (welcomed.isDone()) {
            ctx.fireChannelRead(msg);
            return;
        }
        Frame frame = (Frame) msg;
        if (frame instanceof Frame.Welcome w) {
            if (w.version() != Frame.PROTOCOL_VERSION) {
                fail(new PeerTransportException(peer.remote() + " speaks protocol version " + w.version()
                        + ", this agent " + Frame.PROTOCOL_VERSION));
                return;
            }
            peer.admitted();
            welcomed.complete(null);
        } else if (frame instanceof Frame.Error e) {
            fail(new PeerUnauthorizedException(peer.remote(), e.code(), e.message()));
        } else {
            fail(new PeerTransportException(peer.remote() + " sent " + frame.type() + " instead of WELCOME"));
        }
    }

    private void fail(PeerTransportException e) {
        welcomed.completeExceptionally(e);
        peer.fail(e);
    }
}
