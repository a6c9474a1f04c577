package io.vmmig.strategy.peer;

import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Turns disk bytes into CHUNK_DATA frames and back: all-zero ranges travel as {@link Frame.Encoding#ZERO}
 * with no payload; with compression on, data goes deflated when that makes it smaller.
 */
public final class ChunkPayloads {
    private ChunkPayloads() {}

    public static Frame.ChunkData encode(long requestId, long offset, ByteBuffer data, boolean compress) {
        int length = data.remaining();
        if (isZero(data)) return new Frame.ChunkData(requestId, offset, length, Frame.Encoding.ZERO, ByteBuffer.allocate(0));
        if (compress) {
            Deflater d = new Deflater(Deflater.BEST_SPEED);
            try {
                d.setInput(data.duplicate());
                d.finish();
                ByteBuffer out = ByteBuffer.allocate(length);
                d.deflate(out);
                if (d.finished() && out.position() < length - length / 16) {
                    return new Frame.ChunkData(requestId, offset, length, Frame.Encoding.DEFLATE, out.flip());
                }
            } finally {
                d.end();
            }
        }
        return new Frame.ChunkData(requestId, offset, length, Frame.Encoding.RAW, data.duplicate());
    }

    /** Writes the frame's bytes into {@code dst} (exactly {@code frame.length()} of them). */
    public static void decodeInto(Frame.ChunkData frame, ByteBuffer dst) {
        if (dst.remaining() != frame.length())
            throw new PeerProtocolException("chunk of " + frame.length() + " bytes for a " + dst.remaining() + "-byte request");
        switch (frame.encoding()) {
            case RAW -> dst.put(frame.payload());
            case ZERO -> {
                int end = dst.position() + frame.length();
                while (dst.position() < end) dst.put((byte) 0);
            }
            case DEFLATE -> {
                Inflater inf = new Inflater();
                try {
                    inf.setInput(frame.payload());
                    int n = inf.inflate(dst);
                    if (n != frame.length() || !inf.finished())
                        throw new PeerProtocolException("deflated chunk inflates to " + n + " bytes, expected " + frame.length());
                } catch (DataFormatException e) {
                    throw new PeerProtocolException("corrupt deflated chunk at offset " + frame.offset());
                } finally {
                    inf.end();
                }
            }
        }
    }

    /** Whether every remaining byte is zero (position unchanged). */
    public static boolean isZero(ByteBuffer data) {
        ByteBuffer b = data.duplicate();
        while (b.remaining() >= 8) if (b.getLong() != 0) return false;
        while (b.hasRemaining()) if (b.get() != 0) return false;
        return true;
    }
}
