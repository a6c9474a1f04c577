package io.vmmig.strategy.peer;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;
import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Turns disk bytes into CHUNK_DATA frames and back: all-zero ranges travel as {@link Frame.Encoding#ZERO}
 * with no payload; with compression on, data goes deflated or as zstd when that makes it smaller
 * (zstd: by at least 1/64 of the chunk, else RAW, so incompressible data costs nothing extra).
 */
public final class ChunkPayloads {
    private ChunkPayloads() {}

    /** zstd level: 1, the fastest of the normal levels (~300-500 MB/s per core compressing). */
    public static final int ZSTD_LEVEL = 1;

    public static Frame.ChunkData encode(long requestId, long offset, ByteBuffer data, boolean compress) {
        return encode(requestId, offset, data, compress ? Frame.Encoding.DEFLATE : Frame.Encoding.RAW);
    }

    /**
     * {@code data} as a CHUNK_DATA frame: ZERO if all zero, else compressed with {@code codec}
     * ({@link Frame.Encoding#DEFLATE} or {@link Frame.Encoding#ZSTD}) when that shrinks it, else RAW.
     * {@code codec} RAW: no compression.
     */
    public static Frame.ChunkData encode(long requestId, long offset, ByteBuffer data, Frame.Encoding codec) {
        int length = data.remaining();
        if (isZero(data)) return new Frame.ChunkData(requestId, offset, length, Frame.Encoding.ZERO, ByteBuffer.allocate(0));
        if (codec == Frame.Encoding.ZSTD) {
            ByteBuffer z = zstd(data);
            if (z != null) return new Frame.ChunkData(requestId, offset, length, Frame.Encoding.ZSTD, z);
        } else if (codec == Frame.Encoding.DEFLATE) {
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

    /**
     * zstd of the remaining bytes if it saves at least 1/64 of them, else null: the output buffer is
     * that size, so zstd gives up (dstSize_tooSmall) as soon as the data does not shrink enough.
     */
    private static ByteBuffer zstd(ByteBuffer data) {
        int length = data.remaining();
        int room = length - length / 64 - 1;
        if (room <= 0) return null;
        byte[] src = arrayOf(data);
        int srcOff = data.hasArray() ? data.arrayOffset() + data.position() : 0;
        byte[] dst = new byte[room];
        long n;
        try {
            n = Zstd.compressByteArray(dst, 0, room, src, srcOff, length, ZSTD_LEVEL);
        } catch (ZstdException e) {
            return null;   // dstSize_tooSmall: it does not shrink enough (zstd-jni throws where libzstd returns the code)
        }
        if (Zstd.isError(n)) return null;
        return ByteBuffer.wrap(dst, 0, (int) n);
    }

    private static byte[] arrayOf(ByteBuffer b) {
        if (b.hasArray()) return b.array();
        byte[] copy = new byte[b.remaining()];
        b.duplicate().get(copy);
        return copy;
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
            case ZSTD -> {
                ByteBuffer payload = frame.payload();
                byte[] src = new byte[payload.remaining()];
                payload.get(src);
                byte[] out = dst.hasArray() ? dst.array() : new byte[frame.length()];
                int outOff = dst.hasArray() ? dst.arrayOffset() + dst.position() : 0;
                // the output is bounded by the frame's length whatever the payload says
                long n;
                try {
                    n = Zstd.decompressByteArray(out, outOff, frame.length(), src, 0, src.length);
                } catch (ZstdException e) {
                    throw new PeerProtocolException("corrupt zstd chunk at offset " + frame.offset() + ": " + e.getMessage());
                }
                if (Zstd.isError(n))
                    throw new PeerProtocolException("corrupt zstd chunk at offset " + frame.offset() + ": " + Zstd.getErrorName(n));
                if (n != frame.length())
                    throw new PeerProtocolException("zstd chunk at offset " + frame.offset() + " decompresses to " + n
                            + " bytes, expected " + frame.length());
                if (dst.hasArray()) dst.position(dst.position() + (int) n);
                else dst.put(out, 0, (int) n);
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
