package io.vmmig.agent.peer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.vmmig.strategy.peer.FrameDecoder;
import io.vmmig.strategy.peer.PeerProtocolException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Netty bytes to {@link io.vmmig.strategy.peer.Frame}s: the engine's {@link FrameDecoder} in a pipeline.
 * Every byte received is handed to the decoder at once (it keeps partial frames itself, in buffers
 * that grow with the bytes received), so Netty's cumulation buffer never holds more than one read.
 * It starts with {@link FrameDecoder#PRE_AUTH_MAX_FRAME}; the hello gates raise it to the
 * connection's largest frame once the peer is authorised ({@link #authorised}). It accepts no
 * hand-over (REMAINING) until the session limits it to its disk's chunk count.
 */
final class FrameByteDecoder extends ByteToMessageDecoder {
    private final FrameDecoder decoder;
    private List<Object> out;

    private final int authorisedMaxFrame;

    /** @param maxFrameLength the largest frame once the peer is authorised */
    FrameByteDecoder(int maxFrameLength) {
        this.authorisedMaxFrame = maxFrameLength;
        this.decoder = new FrameDecoder(Math.min(maxFrameLength, FrameDecoder.PRE_AUTH_MAX_FRAME), f -> out.add(f));
        // no hand-over until the session says which disk this connection carries (PeerChannel.limitHandOver)
        this.decoder.limitHandOver(0);
    }

    /** The peer is authorised (its HELLO granted, or its WELCOME received): frames up to the big cap from now on. */
    void authorised() {
        decoder.limit(authorisedMaxFrame);
    }

    /** See {@link io.vmmig.strategy.peer.PeerChannel#limitHandOver}. */
    void limitHandOver(int maxChunks) {
        decoder.limitHandOver(maxChunks);
    }

    int maxFrameLength() {
        return decoder.maxFrameLength();
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        this.out = out;
        try {
            for (ByteBuffer b : in.nioBuffers()) decoder.feed(b);
            in.skipBytes(in.readableBytes());
        } finally {
            this.out = null;
        }
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.isReadable()) decode(ctx, in, out);
        if (decoder.midFrame()) throw new PeerProtocolException("connection closed in the middle of a frame");
    }
}
