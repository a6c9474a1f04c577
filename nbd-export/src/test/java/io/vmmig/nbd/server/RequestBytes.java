package io.vmmig.nbd.server;

import io.vmmig.nbd.protocol.NbdMagic;

import java.nio.ByteBuffer;

/** Encodes transmission requests the way a client does, for tests. */
final class RequestBytes {
    private RequestBytes() {}

    static byte[] encode(int flags, int type, long cookie, long offset, long length, byte[] payload) {
        int n = NbdMagic.REQUEST_HEADER_SIZE + (payload == null ? 0 : payload.length);
        ByteBuffer b = ByteBuffer.allocate(n);
        b.putInt(NbdMagic.REQUEST).putShort((short) flags).putShort((short) type).putLong(cookie).putLong(offset).putInt((int) length);
        if (payload != null) b.put(payload);
        return b.array();
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] p : parts) b.put(p);
        return b.array();
    }
}
