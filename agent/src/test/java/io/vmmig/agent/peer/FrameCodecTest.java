package io.vmmig.agent.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.FrameEncoder;
import io.vmmig.strategy.peer.PeerProtocolException;
import io.vmmig.strategy.peer.SocketPeerChannel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Netty codec pair around the engine's frame codec, fed bytes split at every position. */
class FrameCodecTest {
    private static final List<Frame> FRAMES = List.of(
            new Frame.Hello(Frame.PROTOCOL_VERSION, "m-1", new byte[] {1, 2, 3, 4}),
            new Frame.Welcome(Frame.PROTOCOL_VERSION),
            new Frame.ChunkData(0, 65536, 5, Frame.Encoding.RAW, ByteBuffer.wrap("hello".getBytes(StandardCharsets.UTF_8))),
            new Frame.Pull(7, 4096, 512, Frame.Priority.ON_DEMAND),
            new Frame.Ack(65536, 5),
            new Frame.Error(Frame.Error.UNAUTHORIZED, "no"),
            new Frame.Done());

    private static byte[] wire() {
        FrameEncoder enc = new FrameEncoder();
        ByteBuf all = Unpooled.buffer();
        for (Frame f : FRAMES) all.writeBytes(enc.encode(f));
        byte[] bytes = new byte[all.readableBytes()];
        all.readBytes(bytes);
        return bytes;
    }

    @Test
    void decodesFramesSplitAtEveryPosition() {
        byte[] bytes = wire();
        for (int split = 0; split <= bytes.length; split++) {
            EmbeddedChannel ch = new EmbeddedChannel(new FrameByteDecoder(SocketPeerChannel.MAX_FRAME));
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, 0, split));
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, split, bytes.length - split));
            List<Object> got = new ArrayList<>();
            for (Object o; (o = ch.readInbound()) != null; ) got.add(o);
            assertEquals(FRAMES, got, "split at " + split);
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void decodesFramesFedOneByteAtATime() {
        byte[] bytes = wire();
        EmbeddedChannel ch = new EmbeddedChannel(new FrameByteDecoder(SocketPeerChannel.MAX_FRAME));
        for (byte b : bytes) ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        List<Object> got = new ArrayList<>();
        for (Object o; (o = ch.readInbound()) != null; ) got.add(o);
        assertEquals(FRAMES, got);
        ch.finishAndReleaseAll();
    }

    @Test
    void endOfStreamInsideAFrameIsAProtocolError() {
        byte[] bytes = wire();
        EmbeddedChannel ch = new EmbeddedChannel(new FrameByteDecoder(SocketPeerChannel.MAX_FRAME));
        ch.writeInbound(Unpooled.wrappedBuffer(bytes, 0, 10));
        DecoderException e = assertThrows(DecoderException.class, ch::finish);
        assertInstanceOf(PeerProtocolException.class, e.getCause());
        assertEquals("connection closed in the middle of a frame", e.getCause().getMessage());
    }

    @Test
    void oversizedFrameIsRefusedBeforeItsBody() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameByteDecoder(1024));
        DecoderException e = assertThrows(DecoderException.class,
                () -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0x10, 0, 0, 3, 0, 0, 0})));
        assertEquals("frame length 1048576 outside 4..1024", e.getCause().getMessage());
        assertNull(ch.readInbound());
    }

    @Test
    void encoderWritesTheEngineEncoding() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameByteEncoder.INSTANCE);
        FrameEncoder enc = new FrameEncoder();
        for (Frame f : FRAMES) {
            ch.writeOutbound(f);
            ByteBuf out = ch.readOutbound();
            assertEquals(Unpooled.wrappedBuffer(enc.encode(f)), out, f.toString());
            out.release();
        }
        ch.finishAndReleaseAll();
    }
}
