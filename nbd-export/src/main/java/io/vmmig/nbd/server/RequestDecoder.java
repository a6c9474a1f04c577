package io.vmmig.nbd.server;

import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdMagic;

import java.nio.ByteBuffer;
import java.util.function.IntFunction;

/**
 * Turns the transmission-phase byte stream into {@link NbdRequest}s, independent of any transport:
 * feed it whatever bytes arrived, in pieces of any size. Only two things are fatal (they desynchronise
 * the stream or would need unbounded memory): a bad request magic and a WRITE payload larger than the
 * configured maximum. Everything else (unknown command, bad flags, ranges) is left to the caller to
 * answer with an error reply. Memory held: at most one header plus one payload of at most maxPayload.
 */
public final class RequestDecoder {
    private final int maxPayload;
    private final ByteBuffer header = ByteBuffer.allocate(NbdMagic.REQUEST_HEADER_SIZE);
    private int flags;
    private int type;
    private long cookie;
    private long offset;
    private long length;
    private ByteBuffer payload;
    private boolean failed;
    private final IntFunction<ByteBuffer> payloadAllocator;

    /** A decoder whose WRITE payloads are heap buffers. */
    public RequestDecoder(int maxPayload) {
        this(maxPayload, ByteBuffer::allocate);
    }

    /**
     * @param payloadAllocator gives a buffer with position 0 and limit = the requested length
     *                         (e.g. from a pool of direct buffers)
     */
    public RequestDecoder(int maxPayload, IntFunction<ByteBuffer> payloadAllocator) {
        if (maxPayload <= 0) throw new IllegalArgumentException("maxPayload must be positive: " + maxPayload);
        this.maxPayload = maxPayload;
        this.payloadAllocator = payloadAllocator;
    }

    /**
     * Consumes bytes from {@code in} (advancing its position) until one request is complete.
     *
     * @return the next complete request, or null if {@code in} ran out first (call again with more bytes)
     * @throws NbdProtocolException on a bad magic or an oversized WRITE; the decoder is then unusable
     */
    public NbdRequest decode(ByteBuffer in) throws NbdProtocolException {
        if (failed) throw new NbdProtocolException("decoder already failed on an earlier protocol error");
        if (payload == null) {
            copy(in, header);
            if (header.hasRemaining()) return null;
            header.flip();
            int magic = header.getInt();
            if (magic != NbdMagic.REQUEST) {
                failed = true;
                throw new NbdProtocolException(String.format("bad request magic 0x%08x (expected 0x%08x)", magic, NbdMagic.REQUEST));
            }
            flags = Short.toUnsignedInt(header.getShort());
            type = Short.toUnsignedInt(header.getShort());
            cookie = header.getLong();
            offset = header.getLong();
            length = Integer.toUnsignedLong(header.getInt());
            header.clear();
            if (type != NbdCommand.WRITE.code) return new NbdRequest(flags, type, cookie, offset, length, null);
            if (length > maxPayload) {
                failed = true;
                throw new NbdProtocolException("WRITE payload of " + length + " bytes exceeds the maximum of " + maxPayload);
            }
            payload = payloadAllocator.apply((int) length);
        }
        copy(in, payload);
        if (payload.hasRemaining()) return null;
        ByteBuffer data = payload.flip();
        payload = null;
        return new NbdRequest(flags, type, cookie, offset, length, data);
    }

    /** @return bytes of the request currently being assembled that are still missing (0 between requests) */
    public int pendingBytes() {
        return payload != null ? payload.remaining() : header.position() == 0 ? 0 : header.remaining();
    }

    private static void copy(ByteBuffer from, ByteBuffer to) {
        int n = Math.min(from.remaining(), to.remaining());
        if (n == 0) return;
        int lim = from.limit();
        from.limit(from.position() + n);
        to.put(from);
        from.limit(lim);
    }
}
