package io.vmmig.strategy.peer;

import io.vmmig.strategy.RemainingSet;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Bytes to frames, fed in pieces of any size ({@code FrameReader(source, Handler)} style: the
 * transport pushes bytes in, complete frames come out to the handler). Any violation throws
 * {@link PeerProtocolException} and the decoder is then unusable.
 *
 * <p>What a peer can make it hold is bounded (agent/README-peer.md, "Bounds"): a frame longer than
 * the current {@link #limit} is refused as soon as its length field is read; a frame's buffer grows
 * with the bytes that actually arrived (never allocated by the declared length); a CHUNK_DATA
 * range is at most the frame limit long (a sender must be able to send it raw); a hand-over
 * describes at most {@link #limitHandOver} chunks and its storage grows with its runs.
 */
public final class FrameDecoder {

    /** Receives decoded frames in order. */
    public interface Handler {
        void onFrame(Frame frame);
    }

    /** Largest disk, in chunks, a hand-over may describe (8 TiB at 64 KiB chunks; 512 MiB of write counts). */
    public static final int MAX_CHUNKS = 1 << 27;
    /**
     * Largest frame before the peer is authorised (its HELLO granted): a HELLO is at most
     * 4 + 2 + 2 + 65535 + 2 + 65535 bytes by its format, but ours are under 200; an ERROR or WELCOME is small.
     */
    public static final int PRE_AUTH_MAX_FRAME = 64 * 1024;
    /** A frame's buffer starts at most this big and doubles as its bytes arrive. */
    static final int INITIAL_BUFFER = 64 * 1024;

    private volatile int maxFrameLength;
    private final Handler handler;
    private final ByteBuffer lengthField = ByteBuffer.allocate(4);
    private ByteBuffer frame;
    private int frameLength;
    private boolean failed;
    private final RemainingCodec.Assembly handOver = new RemainingCodec.Assembly(MAX_CHUNKS);

    /** @param maxFrameLength largest accepted frame (header after the length field + body) */
    public FrameDecoder(int maxFrameLength, Handler handler) {
        this.maxFrameLength = maxFrameLength;
        this.handler = handler;
    }

    /**
     * Accepts frames up to {@code maxFrameLength} from now on (a frame already under way keeps the
     * limit it was accepted with): small before the peer is authorised, the big cap afterwards.
     */
    public void limit(int maxFrameLength) {
        if (maxFrameLength < Frame.HEADER_AFTER_LENGTH) throw new IllegalArgumentException("frame limit " + maxFrameLength);
        this.maxFrameLength = maxFrameLength;
    }

    public int maxFrameLength() {
        return maxFrameLength;
    }

    /** A hand-over may describe at most {@code maxChunks} chunks from now on (the session's disk: its chunk count). */
    public void limitHandOver(int maxChunks) {
        if (maxChunks < 0 || maxChunks > MAX_CHUNKS) throw new IllegalArgumentException("hand-over limit " + maxChunks);
        handOver.limit(maxChunks);
    }

    public int handOverLimit() {
        return handOver.maxChunks();
    }

    public void feed(ByteBuffer in) {
        if (failed) throw new PeerProtocolException("decoder already failed");
        try {
            while (in.hasRemaining()) {
                if (frame == null) {
                    transfer(in, lengthField);
                    if (lengthField.hasRemaining()) return;
                    int length = lengthField.flip().getInt();
                    lengthField.clear();
                    int max = maxFrameLength;
                    if (length < Frame.HEADER_AFTER_LENGTH || length > max)
                        throw new PeerProtocolException("frame length " + Integer.toUnsignedString(length)
                                + " outside " + Frame.HEADER_AFTER_LENGTH + ".." + max);
                    frameLength = length;
                    frame = ByteBuffer.allocate(Math.min(length, INITIAL_BUFFER));
                }
                if (!frame.hasRemaining()) grow();
                transfer(in, frame);
                if (frame.position() < frameLength) continue;
                ByteBuffer complete = frame.flip();
                frame = null;
                Frame f = decode(complete);
                if (f != null) handler.onFrame(f);
            }
        } catch (PeerProtocolException e) {
            failed = true;
            throw e;
        }
    }

    /** Bytes allocated for the frame under way (0 between frames): follows the bytes received, not the length field. */
    public int bufferedCapacity() {
        return frame == null ? 0 : frame.capacity();
    }

    /** Doubles the frame's buffer (up to its declared length): memory follows the bytes received, not the length field. */
    private void grow() {
        int size = (int) Math.min(frameLength, 2L * frame.capacity());
        ByteBuffer bigger = ByteBuffer.allocate(size);
        bigger.put(frame.flip());
        frame = bigger;
    }

    /** Whether a frame (or a multi-part hand-over) is partly received (EOF now would cut it). */
    public boolean midFrame() {
        return frame != null || lengthField.position() > 0 || handOver.started();
    }

    private static void transfer(ByteBuffer from, ByteBuffer to) {
        int n = Math.min(from.remaining(), to.remaining());
        ByteBuffer slice = from.slice(from.position(), n);
        to.put(slice);
        from.position(from.position() + n);
    }

    private Frame decode(ByteBuffer b) {
        int code = b.get() & 0xFF;
        int flags = b.get() & 0xFF;
        int reserved = b.getShort();
        if (reserved != 0) throw new PeerProtocolException("reserved header field is " + reserved);
        FrameType type = FrameType.of(code);
        if (handOver.started() && type != FrameType.REMAINING)
            throw new PeerProtocolException((type == null ? "frame type " + code : type) + " frame inside a multi-part REMAINING");
        try {
            Frame f = switch (type == null ? FrameType.FINGERPRINTS : type) { // unknown codes: like a reserved type
                case HELLO -> new Frame.Hello(b.getShort() & 0xFFFF, getString(b), getBytes(b));
                case WELCOME -> new Frame.Welcome(b.getShort() & 0xFFFF);
                case CHUNK_DATA -> chunkData(b, maxFrameLength);
                case PULL -> pull(b);
                case ACK -> new Frame.Ack(nonNegative(b.getLong(), "ack offset"), nonNegative(b.getInt(), "ack length"));
                case REMAINING -> remaining(b);
                case DONE -> new Frame.Done();
                case ERROR -> new Frame.Error(b.getShort() & 0xFFFF, getString(b));
                case CANCEL -> new Frame.Cancel(getString(b));
                case CONTROL -> new Frame.Control(utf8(b, b.remaining()));
                case RESUME -> new Frame.Resume(nonNegative(b.getInt(), "installed chunks"), nonNegative(b.getInt(), "missing chunks"));
                case FINGERPRINTS -> type == null ? unknown(code, flags, b) : fingerprints(b);
                case HAVE -> have(b);
            };
            if (f == null) return null;
            if (b.hasRemaining())
                throw new PeerProtocolException(b.remaining() + " trailing bytes in a " + type + " frame");
            return f;
        } catch (BufferUnderflowException e) {
            throw new PeerProtocolException("truncated " + (type == null ? "frame type " + code : type) + " frame");
        } catch (IllegalArgumentException e) {
            throw new PeerProtocolException("invalid " + type + " frame: " + e.getMessage());
        }
    }

    /** Frame types this version does not implement: skipped when flagged ignorable, else an error. */
    private static Frame unknown(int code, int flags, ByteBuffer b) {
        if ((flags & Frame.FLAG_IGNORABLE) == 0)
            throw new PeerProtocolException("frame type " + code + " not supported by this version");
        Frame.Unknown u = new Frame.Unknown(code, flags, b.slice());
        b.position(b.limit());
        return u;
    }

    private static Frame chunkData(ByteBuffer b, int maxLength) {
        long requestId = b.getLong();
        long offset = nonNegative(b.getLong(), "chunk offset");
        int length = nonNegative(b.getInt(), "chunk length");
        // a sender must be able to send any range raw, so no range is longer than a frame: this bounds
        // what a ZERO or DEFLATE chunk of a few bytes makes the receiver allocate
        if (length > maxLength) throw new PeerProtocolException("chunk length " + length + " over the frame limit " + maxLength);
        int encCode = b.get() & 0xFF;
        Frame.Encoding enc = Frame.Encoding.of(encCode);
        if (enc == null) throw new PeerProtocolException("unknown chunk encoding " + encCode);
        int payloadLength = nonNegative(b.getInt(), "payload length");
        if (payloadLength > b.remaining())
            throw new PeerProtocolException("payload length " + payloadLength + " beyond frame end");
        ByteBuffer payload = b.slice(b.position(), payloadLength);
        b.position(b.position() + payloadLength);
        return new Frame.ChunkData(requestId, offset, length, enc, payload);
    }

    private static Frame fingerprints(ByteBuffer b) {
        int batch = b.getInt();
        int n = nonNegative(b.getInt(), "fingerprint count");
        int entry = 8 + 4 + Frame.FINGERPRINT_BYTES;
        if (n > Frame.MAX_FINGERPRINTS) throw new PeerProtocolException(n + " fingerprints in one frame, at most " + Frame.MAX_FINGERPRINTS);
        if ((long) n * entry != b.remaining())
            throw new PeerProtocolException("FINGERPRINTS of " + n + " entries needs " + (long) n * entry + " bytes, has " + b.remaining());
        long[] offsets = new long[n];
        int[] lengths = new int[n];
        byte[] sha = new byte[n * Frame.FINGERPRINT_BYTES];
        for (int i = 0; i < n; i++) {
            offsets[i] = nonNegative(b.getLong(), "fingerprinted offset");
            lengths[i] = b.getInt();
            if (lengths[i] <= 0) throw new PeerProtocolException("fingerprinted length " + lengths[i]);
            b.get(sha, i * Frame.FINGERPRINT_BYTES, Frame.FINGERPRINT_BYTES);
        }
        return new Frame.Fingerprints(batch, offsets, lengths, sha);
    }

    private static Frame have(ByteBuffer b) {
        int batch = b.getInt();
        int n = nonNegative(b.getInt(), "HAVE count");
        if (n > Frame.MAX_FINGERPRINTS) throw new PeerProtocolException("HAVE for " + n + " chunks, at most " + Frame.MAX_FINGERPRINTS);
        if ((n + 7) / 8 != b.remaining())
            throw new PeerProtocolException("HAVE for " + n + " chunks needs " + (n + 7) / 8 + " bitmap bytes, has " + b.remaining());
        byte[] bits = new byte[b.remaining()];
        b.get(bits);
        java.util.BitSet have = java.util.BitSet.valueOf(bits);
        if (have.length() > n) throw new PeerProtocolException("HAVE bit " + (have.length() - 1) + " set beyond " + n + " chunks");
        return new Frame.Have(batch, n, have);
    }

    private static Frame pull(ByteBuffer b) {
        long id = b.getLong();
        long first = b.getLong();
        int count = b.getInt();
        int prio = b.get() & 0xFF;
        if (prio >= Frame.Priority.values().length) throw new PeerProtocolException("unknown pull priority " + prio);
        return new Frame.Pull(id, first, count, Frame.Priority.values()[prio]);
    }

    /** One part of a hand-over ({@link RemainingCodec}); the frame once the last part is in, else null. */
    private Frame remaining(ByteBuffer b) {
        int chunks = nonNegative(b.getInt(), "chunk count");
        int remaining = nonNegative(b.getInt(), "remaining count");
        int part = nonNegative(b.getInt(), "part number");
        int flags = b.get() & 0xFF;
        if ((flags & ~RemainingCodec.FLAG_LAST) != 0) throw new PeerProtocolException("unknown REMAINING flags " + flags);
        ByteBuffer data = b.slice();
        b.position(b.limit());
        RemainingSet set = handOver.add(new RemainingCodec.Part(chunks, remaining, part, (flags & RemainingCodec.FLAG_LAST) != 0, data));
        return set == null ? null : new Frame.Remaining(set);
    }

    private static String getString(ByteBuffer b) {
        int n = b.getShort() & 0xFFFF;
        return utf8(b, n);
    }

    private static String utf8(ByteBuffer b, int n) {
        byte[] bytes = new byte[n];
        b.get(bytes);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new PeerProtocolException("string is not UTF-8");
        }
    }

    private static byte[] getBytes(ByteBuffer b) {
        int n = b.getShort() & 0xFFFF;
        byte[] bytes = new byte[n];
        b.get(bytes);
        return bytes;
    }

    private static int nonNegative(int v, String what) {
        if (v < 0) throw new PeerProtocolException(what + " is negative: " + v);
        return v;
    }

    private static long nonNegative(long v, String what) {
        if (v < 0) throw new PeerProtocolException(what + " is negative: " + v);
        return v;
    }
}
