package io.vmmig.strategy.peer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Frames to bytes. Stateless; the transport writes the returned buffer (header and body together). */
public final class FrameEncoder {

    public ByteBuffer encode(Frame frame) {
        if (frame instanceof Frame.Remaining r) return encodeRemaining(r);
        int bodyLength = bodyLength(frame);
        ByteBuffer out = ByteBuffer.allocate(4 + Frame.HEADER_AFTER_LENGTH + bodyLength);
        out.putInt(Frame.HEADER_AFTER_LENGTH + bodyLength);
        out.put((byte) frame.type().code);
        out.put((byte) (isIgnorable(frame.type()) ? Frame.FLAG_IGNORABLE : 0));
        out.putShort((short) 0);
        writeBody(frame, out);
        if (out.hasRemaining()) throw new IllegalStateException("body length mismatch for " + frame.type());
        return out.flip();
    }

    /** A hand-over is one or more REMAINING frames back to back ({@link RemainingCodec}), written together. */
    private static ByteBuffer encodeRemaining(Frame.Remaining r) {
        java.util.List<RemainingCodec.Part> parts = RemainingCodec.encode(r.set());
        int n = 0;
        for (RemainingCodec.Part p : parts) n += 4 + Frame.HEADER_AFTER_LENGTH + RemainingCodec.PART_HEADER + p.data().remaining();
        ByteBuffer out = ByteBuffer.allocate(n);
        for (RemainingCodec.Part p : parts) {
            out.putInt(Frame.HEADER_AFTER_LENGTH + RemainingCodec.PART_HEADER + p.data().remaining());
            out.put((byte) FrameType.REMAINING.code).put((byte) 0).putShort((short) 0);
            out.putInt(p.chunks()).putInt(p.remaining()).putInt(p.part()).put((byte) (p.last() ? RemainingCodec.FLAG_LAST : 0));
            out.put(p.data());
        }
        return out.flip();
    }

    private static boolean isIgnorable(FrameType t) {
        return false;   // FINGERPRINTS/HAVE are only sent when the peer said it speaks them: never skipped silently
    }

    private static int bodyLength(Frame frame) {
        if (frame instanceof Frame.Hello h) return 2 + str(h.migrationId()) + 2 + h.token().length;
        if (frame instanceof Frame.Welcome) return 2;
        if (frame instanceof Frame.ChunkData d) return 8 + 8 + 4 + 1 + 4 + d.payload().remaining();
        if (frame instanceof Frame.Pull) return 8 + 8 + 4 + 1;
        if (frame instanceof Frame.Ack) return 8 + 4;
        if (frame instanceof Frame.Done) return 0;
        if (frame instanceof Frame.Resume) return 4 + 4;
        if (frame instanceof Frame.Fingerprints f) return 4 + 4 + f.count() * (8 + 4 + Frame.FINGERPRINT_BYTES);
        if (frame instanceof Frame.Have h) return 4 + 4 + (h.count() + 7) / 8;
        if (frame instanceof Frame.Error e) return 2 + str(e.message());
        if (frame instanceof Frame.Cancel c) return str(c.reason());
        if (frame instanceof Frame.Control c) return c.json().getBytes(StandardCharsets.UTF_8).length;
        throw new IllegalArgumentException("cannot encode " + frame);
    }

    private static void writeBody(Frame frame, ByteBuffer out) {
        if (frame instanceof Frame.Hello h) {
            out.putShort((short) h.version());
            putString(out, h.migrationId());
            byte[] token = h.token();
            if (token.length > 0xFFFF) throw new IllegalArgumentException("token longer than 65535 bytes");
            out.putShort((short) token.length).put(token);
        } else if (frame instanceof Frame.Welcome w) {
            out.putShort((short) w.version());
        } else if (frame instanceof Frame.ChunkData d) {
            ByteBuffer payload = d.payload();
            out.putLong(d.requestId()).putLong(d.offset()).putInt(d.length())
                    .put((byte) d.encoding().code).putInt(payload.remaining()).put(payload);
        } else if (frame instanceof Frame.Pull p) {
            out.putLong(p.requestId()).putLong(p.offset()).putInt(p.length()).put((byte) p.priority().ordinal());
        } else if (frame instanceof Frame.Ack a) {
            out.putLong(a.offset()).putInt(a.length());
        } else if (frame instanceof Frame.Resume r) {
            out.putInt(r.installedChunks()).putInt(r.missingChunks());
        } else if (frame instanceof Frame.Fingerprints f) {
            out.putInt(f.batch()).putInt(f.count());
            for (int i = 0; i < f.count(); i++) out.putLong(f.offset(i)).putInt(f.length(i)).put(f.digest(i));
        } else if (frame instanceof Frame.Have h) {
            out.putInt(h.batch()).putInt(h.count());
            byte[] bits = new byte[(h.count() + 7) / 8];
            byte[] set = h.have().toByteArray();   // little-endian bit order: bit i in byte i/8, bit i%8
            System.arraycopy(set, 0, bits, 0, set.length);
            out.put(bits);
        } else if (frame instanceof Frame.Error e) {
            out.putShort((short) e.code());
            putString(out, e.message());
        } else if (frame instanceof Frame.Cancel c) {
            putString(out, c.reason());
        } else if (frame instanceof Frame.Control c) {
            out.put(c.json().getBytes(StandardCharsets.UTF_8));
        }
    }

    private static int str(String s) {
        int n = s.getBytes(StandardCharsets.UTF_8).length;
        if (n > 0xFFFF) throw new IllegalArgumentException("string longer than 65535 bytes");
        return 2 + n;
    }

    private static void putString(ByteBuffer out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.putShort((short) b.length).put(b);
    }
}
