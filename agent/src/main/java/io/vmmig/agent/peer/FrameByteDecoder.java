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
 * Every byte received is handed to the decoder at once (it keeps partial frames itself).
 */
final class FrameByteDecoder extends ByteToMessageDecoder {
    private final FrameDecoder decoder;
    private List<Object> out;

    FrameByteDecoder(int maxFrameLength) {
        this.decoder = new FrameDecoder(maxFrameLength, f -> out.add(f));
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
