package io.vmmig.agent.peer;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.FrameEncoder;
import java.util.List;

/** {@link Frame}s to Netty bytes: the engine's {@link FrameEncoder} in a pipeline (no copy of the result). */
@ChannelHandler.Sharable
final class FrameByteEncoder extends MessageToMessageEncoder<Frame> {
    static final FrameByteEncoder INSTANCE = new FrameByteEncoder();
    private final FrameEncoder encoder = new FrameEncoder();

    private FrameByteEncoder() {
        super(Frame.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Frame frame, List<Object> out) {
        out.add(Unpooled.wrappedBuffer(encoder.encode(frame)));
    }
}
