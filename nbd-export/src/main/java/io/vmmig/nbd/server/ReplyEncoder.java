package io.vmmig.nbd.server;

import io.vmmig.nbd.backend.Extent;
import io.vmmig.nbd.protocol.NbdErrno;
import io.vmmig.nbd.protocol.NbdMagic;
import io.vmmig.nbd.protocol.NbdReplyType;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Encodes transmission-phase replies (simple replies and structured reply chunks) into flipped buffers. */
public final class ReplyEncoder {
    private ReplyEncoder() {}

    /** Simple reply header; for a successful READ the data follows. */
    public static ByteBuffer simple(long cookie, NbdErrno error) {
        ByteBuffer b = ByteBuffer.allocate(NbdMagic.SIMPLE_REPLY_HEADER_SIZE);
        b.putInt(NbdMagic.SIMPLE_REPLY).putInt(error == null ? 0 : error.value).putLong(cookie);
        return b.flip();
    }

    /** Chunk header plus the 8-byte offset of an OFFSET_DATA chunk; {@code dataLength} bytes follow. */
    public static ByteBuffer offsetDataHeader(long cookie, boolean done, long offset, int dataLength) {
        ByteBuffer b = ByteBuffer.allocate(NbdMagic.STRUCTURED_REPLY_HEADER_SIZE + 8);
        chunkHeader(b, cookie, done, NbdReplyType.OFFSET_DATA, 8 + dataLength);
        b.putLong(offset);
        return b.flip();
    }

    public static ByteBuffer offsetHole(long cookie, boolean done, long offset, int holeLength) {
        ByteBuffer b = ByteBuffer.allocate(NbdMagic.STRUCTURED_REPLY_HEADER_SIZE + 12);
        chunkHeader(b, cookie, done, NbdReplyType.OFFSET_HOLE, 12);
        b.putLong(offset).putInt(holeLength);
        return b.flip();
    }

    /** A BLOCK_STATUS chunk; every extent length must fit in 32 bits. */
    public static ByteBuffer blockStatus(long cookie, boolean done, int contextId, List<Extent> extents) {
        int len = 4 + 8 * extents.size();
        ByteBuffer b = ByteBuffer.allocate(NbdMagic.STRUCTURED_REPLY_HEADER_SIZE + len);
        chunkHeader(b, cookie, done, NbdReplyType.BLOCK_STATUS, len);
        b.putInt(contextId);
        for (Extent e : extents) {
            if (e.length() > 0xffff_ffffL) throw new IllegalArgumentException("extent too long for a descriptor: " + e);
            b.putInt((int) e.length()).putInt(e.flags());
        }
        return b.flip();
    }

    /** An ERROR chunk with a human-readable message (truncated to fit). */
    public static ByteBuffer error(long cookie, boolean done, NbdErrno error, String message) {
        byte[] msg = message == null ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
        int msgLen = Math.min(msg.length, 4096);
        ByteBuffer b = ByteBuffer.allocate(NbdMagic.STRUCTURED_REPLY_HEADER_SIZE + 6 + msgLen);
        chunkHeader(b, cookie, done, NbdReplyType.ERROR, 6 + msgLen);
        b.putInt(error.value).putShort((short) msgLen).put(msg, 0, msgLen);
        return b.flip();
    }

    /** The NONE chunk: ends a structured reply that has nothing else to say. */
    public static ByteBuffer none(long cookie) {
        ByteBuffer b = ByteBuffer.allocate(NbdMagic.STRUCTURED_REPLY_HEADER_SIZE);
        chunkHeader(b, cookie, true, NbdReplyType.NONE, 0);
        return b.flip();
    }

    private static void chunkHeader(ByteBuffer b, long cookie, boolean done, int type, int length) {
        b.putInt(NbdMagic.STRUCTURED_REPLY).putShort((short) (done ? NbdReplyType.FLAG_DONE : 0))
                .putShort((short) type).putLong(cookie).putInt(length);
    }
}
