package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdMagic;
import io.vmmig.nbd.protocol.NbdReplyType;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Builds reply byte streams as a server would send them (test side encoder). */
final class ReplyBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    ReplyBytes simple(long cookie, int error, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(16 + data.length);
        b.putInt(NbdMagic.SIMPLE_REPLY).putInt(error).putLong(cookie).put(data);
        out.writeBytes(b.array());
        return this;
    }

    ReplyBytes chunk(long cookie, int flags, int type, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(20 + payload.length);
        b.putInt(NbdMagic.STRUCTURED_REPLY).putShort((short) flags).putShort((short) type).putLong(cookie)
                .putInt(payload.length).put(payload);
        out.writeBytes(b.array());
        return this;
    }

    ReplyBytes data(long cookie, boolean done, long offset, byte[] data) {
        return chunk(cookie, done ? NbdReplyType.FLAG_DONE : 0, NbdReplyType.OFFSET_DATA,
                ByteBuffer.allocate(8 + data.length).putLong(offset).put(data).array());
    }

    ReplyBytes hole(long cookie, boolean done, long offset, int length) {
        return chunk(cookie, done ? NbdReplyType.FLAG_DONE : 0, NbdReplyType.OFFSET_HOLE,
                ByteBuffer.allocate(12).putLong(offset).putInt(length).array());
    }

    ReplyBytes blockStatus(long cookie, boolean done, int contextId, int... lengthFlags) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * lengthFlags.length).putInt(contextId);
        for (int v : lengthFlags) b.putInt(v);
        return chunk(cookie, done ? NbdReplyType.FLAG_DONE : 0, NbdReplyType.BLOCK_STATUS, b.array());
    }

    ReplyBytes error(long cookie, boolean done, int errno, String msg, long offset) {
        byte[] m = msg.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(6 + m.length + (offset >= 0 ? 8 : 0)).putInt(errno).putShort((short) m.length).put(m);
        if (offset >= 0) b.putLong(offset);
        return chunk(cookie, done ? NbdReplyType.FLAG_DONE : 0, offset >= 0 ? NbdReplyType.ERROR_OFFSET : NbdReplyType.ERROR, b.array());
    }

    ReplyBytes none(long cookie) {
        return chunk(cookie, NbdReplyType.FLAG_DONE, NbdReplyType.NONE, new byte[0]);
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
