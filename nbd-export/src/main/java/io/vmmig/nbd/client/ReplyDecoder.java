package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdMagic;
import io.vmmig.nbd.protocol.NbdReplyType;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Incremental decoder of transmission-phase replies (simple replies and structured reply chunks).
 * Bytes may arrive split at any position. Data payloads stream into the target the listener supplies
 * (no intermediate copy); other chunk payloads are bounded by {@code maxMetadataPayload}.
 * After the first {@link NbdProtocolException} the decoder stays failed.
 */
public final class ReplyDecoder {

    private enum State { MAGIC, SIMPLE_HEADER, STRUCT_HEADER, DATA_OFFSET, DATA, PAYLOAD, FAILED }

    private final ReplyListener listener;
    private final int maxMetadataPayload;

    private final ByteBuffer header = ByteBuffer.allocate(NbdMagic.STRUCTURED_REPLY_HEADER_SIZE);
    private State state = State.MAGIC;

    private long cookie;
    private int chunkFlags;
    private int chunkType;
    private int chunkLength;

    private boolean simpleData;
    private long dataOffset;
    private int dataLength;
    private long dataRemaining;
    private ByteBuffer dataTarget;

    private byte[] payload;
    private int payloadFilled;

    public ReplyDecoder(ReplyListener listener, int maxMetadataPayload) {
        if (maxMetadataPayload < 64) throw new IllegalArgumentException("maxMetadataPayload too small: " + maxMetadataPayload);
        this.listener = listener;
        this.maxMetadataPayload = maxMetadataPayload;
    }

    /** Consumes every remaining byte of {@code in}. */
    public void feed(ByteBuffer in) throws NbdProtocolException {
        try {
            while (in.hasRemaining()) {
                switch (state) {
                    case MAGIC: readMagic(in); break;
                    case SIMPLE_HEADER: readSimpleHeader(in); break;
                    case STRUCT_HEADER: readStructHeader(in); break;
                    case DATA_OFFSET: readDataOffset(in); break;
                    case DATA: readData(in); break;
                    case PAYLOAD: readPayload(in); break;
                    default: throw new NbdProtocolException("reply decoder already failed");
                }
            }
        } catch (NbdProtocolException e) {
            state = State.FAILED;
            throw e;
        }
    }

    /**
     * @return the target into which the next data bytes may be read directly (a view whose remaining
     *     count is what the current payload still needs), or null if the decoder needs to see bytes.
     *     After filling it call {@link #directFilled(int)}.
     */
    public ByteBuffer directTarget() {
        if (state != State.DATA || dataTarget == null) return null;
        return dataTarget;
    }

    /** Accounts for {@code n} bytes written into {@link #directTarget()} by the caller. */
    public void directFilled(int n) throws NbdProtocolException {
        if (state != State.DATA || dataTarget == null || n > dataRemaining || n < 0) {
            throw new IllegalStateException("directFilled(" + n + ") outside of a data payload");
        }
        dataRemaining -= n;
        try {
            if (dataRemaining == 0) finishData();
        } catch (NbdProtocolException e) {
            state = State.FAILED;
            throw e;
        }
    }

    /** @return true between replies (no partial reply buffered). */
    public boolean atReplyBoundary() {
        return state == State.MAGIC && header.position() == 0;
    }

    private boolean fillHeader(ByteBuffer in, int upTo) {
        while (header.position() < upTo && in.hasRemaining()) header.put(in.get());
        return header.position() == upTo;
    }

    private void readMagic(ByteBuffer in) throws NbdProtocolException {
        if (!fillHeader(in, 4)) return;
        int magic = header.getInt(0);
        if (magic == NbdMagic.SIMPLE_REPLY) state = State.SIMPLE_HEADER;
        else if (magic == NbdMagic.STRUCTURED_REPLY) state = State.STRUCT_HEADER;
        else throw new NbdProtocolException("bad reply magic 0x" + Integer.toHexString(magic));
    }

    private void readSimpleHeader(ByteBuffer in) throws NbdProtocolException {
        if (!fillHeader(in, NbdMagic.SIMPLE_REPLY_HEADER_SIZE)) return;
        int error = header.getInt(4);
        cookie = header.getLong(8);
        header.clear();
        long len = listener.onSimpleReply(cookie, error);
        if (len == 0) {
            state = State.MAGIC;
            listener.onSimpleReplyDone(cookie);
            return;
        }
        if (len < 0 || len > Integer.MAX_VALUE) throw new NbdProtocolException("bad simple reply payload length " + len);
        simpleData = true;
        dataLength = (int) len;
        dataRemaining = len;
        dataTarget = listener.simpleDataTarget(cookie, dataLength);
        checkTarget();
        state = State.DATA;
    }

    private void readStructHeader(ByteBuffer in) throws NbdProtocolException {
        if (!fillHeader(in, NbdMagic.STRUCTURED_REPLY_HEADER_SIZE)) return;
        chunkFlags = header.getShort(4) & 0xffff;
        chunkType = header.getShort(6) & 0xffff;
        cookie = header.getLong(8);
        chunkLength = header.getInt(16);
        header.clear();
        long len = chunkLength & 0xffffffffL;
        switch (chunkType) {
            case NbdReplyType.NONE:
                if (len != 0) throw new NbdProtocolException("NONE chunk with length " + len);
                if ((chunkFlags & NbdReplyType.FLAG_DONE) == 0) throw new NbdProtocolException("NONE chunk without DONE flag");
                state = State.MAGIC;
                listener.onNone(cookie, chunkFlags);
                return;
            case NbdReplyType.OFFSET_DATA:
                if (len <= 8) throw new NbdProtocolException("OFFSET_DATA chunk too short: " + len);
                if (len - 8 > Integer.MAX_VALUE) throw new NbdProtocolException("OFFSET_DATA chunk too long: " + len);
                state = State.DATA_OFFSET;
                return;
            case NbdReplyType.OFFSET_HOLE:
                if (len != 12) throw new NbdProtocolException("OFFSET_HOLE chunk length " + len + " != 12");
                break;
            case NbdReplyType.BLOCK_STATUS:
                if (len < 12 || (len - 4) % 8 != 0) throw new NbdProtocolException("BLOCK_STATUS chunk length " + len + " is not 4+8n (n>=1)");
                break;
            default:
                if (NbdReplyType.isError(chunkType)) {
                    if (len < 6) throw new NbdProtocolException("error chunk too short: " + len);
                    break;
                }
                throw new NbdProtocolException("unknown structured reply chunk type " + chunkType);
        }
        if (len > maxMetadataPayload) {
            throw new NbdProtocolException("chunk type " + chunkType + " length " + len + " exceeds limit " + maxMetadataPayload);
        }
        payload = new byte[(int) len];
        payloadFilled = 0;
        state = State.PAYLOAD;
    }

    private void readDataOffset(ByteBuffer in) throws NbdProtocolException {
        if (!fillHeader(in, 8)) return;
        dataOffset = header.getLong(0);
        header.clear();
        simpleData = false;
        dataLength = (int) ((chunkLength & 0xffffffffL) - 8);
        dataRemaining = dataLength;
        if (dataOffset < 0 || dataOffset + dataLength < 0) throw new NbdProtocolException("OFFSET_DATA offset out of range: " + dataOffset);
        dataTarget = listener.dataTarget(cookie, dataOffset, dataLength);
        checkTarget();
        state = State.DATA;
    }

    private void checkTarget() {
        if (dataTarget != null && dataTarget.remaining() != dataLength) {
            throw new IllegalStateException("listener gave a target with " + dataTarget.remaining()
                    + " bytes remaining for a payload of " + dataLength);
        }
    }

    private void readData(ByteBuffer in) throws NbdProtocolException {
        int n = (int) Math.min(in.remaining(), dataRemaining);
        if (dataTarget != null) {
            int lim = in.limit();
            in.limit(in.position() + n);
            dataTarget.put(in);
            in.limit(lim);
        } else {
            in.position(in.position() + n);
        }
        dataRemaining -= n;
        if (dataRemaining == 0) finishData();
    }

    private void finishData() throws NbdProtocolException {
        dataTarget = null;
        state = State.MAGIC;
        if (simpleData) listener.onSimpleReplyDone(cookie);
        else listener.onData(cookie, chunkFlags, dataOffset, dataLength);
    }

    private void readPayload(ByteBuffer in) throws NbdProtocolException {
        int n = Math.min(in.remaining(), payload.length - payloadFilled);
        in.get(payload, payloadFilled, n);
        payloadFilled += n;
        if (payloadFilled < payload.length) return;
        ByteBuffer p = ByteBuffer.wrap(payload);
        payload = null;
        state = State.MAGIC;
        switch (chunkType) {
            case NbdReplyType.OFFSET_HOLE: {
                long off = p.getLong();
                int len = p.getInt();
                if (len == 0) throw new NbdProtocolException("OFFSET_HOLE chunk of length 0");
                if (off < 0 || off + (len & 0xffffffffL) < 0) throw new NbdProtocolException("OFFSET_HOLE offset out of range: " + off);
                listener.onHole(cookie, chunkFlags, off, len);
                return;
            }
            case NbdReplyType.BLOCK_STATUS: {
                int id = p.getInt();
                int[] ext = new int[p.remaining() / 4];
                for (int i = 0; i < ext.length; i++) ext[i] = p.getInt();
                listener.onBlockStatus(cookie, chunkFlags, id, ext);
                return;
            }
            default: {
                int errno = p.getInt();
                int msgLen = p.getShort() & 0xffff;
                int expected = 6 + msgLen + (chunkType == NbdReplyType.ERROR_OFFSET ? 8 : 0);
                if (chunkType == NbdReplyType.ERROR_OFFSET || chunkType == NbdReplyType.ERROR) {
                    if (p.capacity() != expected) {
                        throw new NbdProtocolException("error chunk length " + p.capacity() + " does not match message length " + msgLen);
                    }
                } else if (p.capacity() < 6 + msgLen) {
                    throw new NbdProtocolException("error chunk type " + chunkType + " shorter than its message");
                }
                if (errno == 0) throw new NbdProtocolException("error chunk with error value 0");
                String msg = new String(payload(p, msgLen), StandardCharsets.UTF_8);
                long errOff = -1;
                if (chunkType == NbdReplyType.ERROR_OFFSET) {
                    errOff = p.getLong();
                    if (errOff < 0) throw new NbdProtocolException("ERROR_OFFSET offset out of range: " + errOff);
                }
                listener.onError(cookie, chunkFlags, chunkType, errno, msg, errOff);
            }
        }
    }

    private static byte[] payload(ByteBuffer p, int n) {
        byte[] b = new byte[n];
        p.get(b);
        return b;
    }
}
