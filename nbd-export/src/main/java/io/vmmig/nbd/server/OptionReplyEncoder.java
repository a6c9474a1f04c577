package io.vmmig.nbd.server;

import io.vmmig.nbd.protocol.NbdMagic;
import io.vmmig.nbd.protocol.NbdOption;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Encodes handshake-phase messages sent by the server. */
final class OptionReplyEncoder {
    private OptionReplyEncoder() {}

    static ByteBuffer greeting(int handshakeFlags) {
        ByteBuffer b = ByteBuffer.allocate(18);
        b.putLong(NbdMagic.NBDMAGIC).putLong(NbdMagic.IHAVEOPT).putShort((short) handshakeFlags);
        return b.flip();
    }

    static ByteBuffer reply(int option, int type, ByteBuffer data) {
        int len = data == null ? 0 : data.remaining();
        ByteBuffer b = ByteBuffer.allocate(20 + len);
        b.putLong(NbdMagic.OPTION_REPLY).putInt(option).putInt(type).putInt(len);
        if (data != null) b.put(data.duplicate());
        return b.flip();
    }

    static ByteBuffer ack(int option) {
        return reply(option, NbdOption.REP_ACK, null);
    }

    /** An error reply carrying a human-readable message. */
    static ByteBuffer error(int option, int type, String message) {
        return reply(option, type, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
    }

    static ByteBuffer server(int option, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return reply(option, NbdOption.REP_SERVER, ByteBuffer.allocate(4 + n.length).putInt(n.length).put(n).flip());
    }

    static ByteBuffer infoExport(int option, long size, int transmissionFlags) {
        return reply(option, NbdOption.REP_INFO, ByteBuffer.allocate(12)
                .putShort((short) NbdOption.INFO_EXPORT).putLong(size).putShort((short) transmissionFlags).flip());
    }

    /** NBD_INFO_NAME or NBD_INFO_DESCRIPTION. */
    static ByteBuffer infoText(int option, int infoType, String text) {
        byte[] t = text.getBytes(StandardCharsets.UTF_8);
        return reply(option, NbdOption.REP_INFO, ByteBuffer.allocate(2 + t.length).putShort((short) infoType).put(t).flip());
    }

    static ByteBuffer infoBlockSize(int option, int minimum, int preferred, int maximum) {
        return reply(option, NbdOption.REP_INFO, ByteBuffer.allocate(14).putShort((short) NbdOption.INFO_BLOCK_SIZE)
                .putInt(minimum).putInt(preferred).putInt(maximum).flip());
    }

    static ByteBuffer metaContext(int option, int id, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return reply(option, NbdOption.REP_META_CONTEXT, ByteBuffer.allocate(4 + n.length).putInt(id).put(n).flip());
    }

    /** Reply to NBD_OPT_EXPORT_NAME: size, flags, and 124 zero bytes unless the client asked for none. */
    static ByteBuffer exportNameReply(long size, int transmissionFlags, boolean noZeroes) {
        ByteBuffer b = ByteBuffer.allocate(10 + (noZeroes ? 0 : 124));
        b.putLong(size).putShort((short) transmissionFlags);
        return b.position(b.capacity()).flip();
    }
}
