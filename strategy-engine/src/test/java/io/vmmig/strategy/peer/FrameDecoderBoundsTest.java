package io.vmmig.strategy.peer;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.WriteCounts;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;

/** What a peer's length fields can make the decoder allocate: never more than the bytes it sent, within the limits. */
class FrameDecoderBoundsTest {
    private final List<Frame> out = new ArrayList<>();

    private static ByteBuffer header(int length, FrameType type) {
        return ByteBuffer.allocate(8).putInt(length).put((byte) type.code).put((byte) 0).putShort((short) 0).flip();
    }

    @Test
    void aFrameDeclaringMoreThanTheLimitIsRefusedAtItsLengthField() {
        FrameDecoder d = new FrameDecoder(FrameDecoder.PRE_AUTH_MAX_FRAME, out::add);
        PeerProtocolException e = assertThrows(PeerProtocolException.class,
                () -> d.feed(ByteBuffer.allocate(4).putInt(32 << 20).flip()));
        assertEquals("frame length 33554432 outside 4..65536", e.getMessage());
        FrameDecoder huge = new FrameDecoder(SocketPeerChannel.MAX_FRAME, out::add);
        assertThrows(PeerProtocolException.class, () -> huge.feed(ByteBuffer.allocate(4).putInt(Integer.MIN_VALUE).flip()));
        assertThrows(PeerProtocolException.class, () -> huge.feed(ByteBuffer.allocate(1)), "unusable after a failure");
    }

    @Test
    void theBufferGrowsWithTheBytesNotTheLengthField() {
        FrameDecoder d = new FrameDecoder(SocketPeerChannel.MAX_FRAME, out::add);
        int declared = 32 << 20;
        d.feed(header(declared, FrameType.CONTROL));
        assertTrue(d.bufferedCapacity() <= FrameDecoder.INITIAL_BUFFER, "declared 32 MiB, allocated " + d.bufferedCapacity());
        int sent = 4;
        byte[] piece = new byte[100_000];
        java.util.Arrays.fill(piece, (byte) ' ');
        while (sent < 1 << 20) {
            d.feed(ByteBuffer.wrap(piece));
            sent += piece.length;
            assertTrue(d.bufferedCapacity() <= 2L * sent + FrameDecoder.INITIAL_BUFFER,
                    sent + " bytes received, " + d.bufferedCapacity() + " allocated");
        }
        assertTrue(d.midFrame());
        // and the frame still arrives whole
        ByteBuffer rest = ByteBuffer.allocate(declared - sent);
        while (rest.hasRemaining()) rest.put((byte) ' ');
        d.feed(rest.flip());
        assertEquals(1, out.size());
        assertEquals(declared - 4, ((Frame.Control) out.get(0)).json().length());
        assertEquals(0, d.bufferedCapacity());
    }

    @Test
    void theLimitIsRaisedOnceThePeerIsAuthorised() {
        FrameDecoder d = new FrameDecoder(FrameDecoder.PRE_AUTH_MAX_FRAME, out::add);
        d.feed(new FrameEncoder().encode(new Frame.Hello(1, "m1", new byte[32])));
        d.limit(SocketPeerChannel.MAX_FRAME);
        d.feed(new FrameEncoder().encode(new Frame.Control("x".repeat(1 << 20))));
        assertEquals(2, out.size());
    }

    @Test
    void aZeroChunkLongerThanAFrameIsRefused() {
        FrameDecoder d = new FrameDecoder(1 << 20, out::add);
        ByteBuffer b = ByteBuffer.allocate(8 + 25).putInt(4 + 25).put((byte) FrameType.CHUNK_DATA.code).put((byte) 0).putShort((short) 0)
                .putLong(0).putLong(0).putInt(Integer.MAX_VALUE).put((byte) Frame.Encoding.ZERO.code).putInt(0).flip();
        PeerProtocolException e = assertThrows(PeerProtocolException.class, () -> d.feed(b));
        assertTrue(e.getMessage().contains("chunk length 2147483647 over the frame limit 1048576"), e.getMessage());
    }

    /** One REMAINING part: {@code chunks}, {@code remaining}, part 0, last, then {@code zlib} as its data. */
    private static ByteBuffer remainingPart(int chunks, int remaining, byte[] zlib) {
        ByteBuffer b = ByteBuffer.allocate(8 + RemainingCodec.PART_HEADER + zlib.length);
        b.putInt(4 + RemainingCodec.PART_HEADER + zlib.length).put((byte) FrameType.REMAINING.code).put((byte) 0).putShort((short) 0);
        b.putInt(chunks).putInt(remaining).putInt(0).put((byte) RemainingCodec.FLAG_LAST).put(zlib);
        return b.flip();
    }

    private static byte[] deflate(byte[] raw) {
        Deflater d = new Deflater();
        d.setInput(raw);
        d.finish();
        byte[] out = new byte[raw.length + 64];
        int n = d.deflate(out);
        d.end();
        return java.util.Arrays.copyOf(out, n);
    }

    @Test
    void aHandOverDeclaringTheLargestDiskAllocatesByItsRunsOnly() {
        FrameDecoder d = new FrameDecoder(1 << 20, out::add);
        // 2^27 chunks declared, one chunk remaining (run: gap 5, length-1 0, count 3)
        d.feed(remainingPart(FrameDecoder.MAX_CHUNKS, 1, deflate(new byte[] {5, 0, 3})));
        RemainingSet set = ((Frame.Remaining) out.get(0)).set();
        assertEquals(FrameDecoder.MAX_CHUNKS, set.counts().chunks());
        assertEquals(3, set.counts().get(5));
        assertEquals(0, set.counts().get(FrameDecoder.MAX_CHUNKS - 1));
        assertTrue(set.counts().storedChunks() <= 1024, "stored " + set.counts().storedChunks() + " counts for 1 remaining chunk");
    }

    @Test
    void aHandOverBeyondTheSessionsDiskIsRefused() {
        FrameDecoder d = new FrameDecoder(1 << 20, out::add);
        d.limitHandOver(4096);
        PeerProtocolException e = assertThrows(PeerProtocolException.class,
                () -> d.feed(remainingPart(FrameDecoder.MAX_CHUNKS, 1, deflate(new byte[] {5, 0, 3}))));
        assertEquals("disk of 134217728 chunks exceeds 4096", e.getMessage());
        FrameDecoder none = new FrameDecoder(1 << 20, out::add);
        none.limitHandOver(0);
        assertThrows(PeerProtocolException.class, () -> none.feed(remainingPart(1, 1, deflate(new byte[] {0, 0, 3}))));
    }

    @Test
    void endlessHandOverPartsAreCut() {
        FrameDecoder d = new FrameDecoder(1 << 20, out::add);
        int chunks = 64;
        byte[] junk = new byte[60_000];
        PeerProtocolException e = assertThrows(PeerProtocolException.class, () -> {
            for (int part = 0; part < 100; part++) {
                ByteBuffer b = ByteBuffer.allocate(8 + RemainingCodec.PART_HEADER + junk.length);
                b.putInt(4 + RemainingCodec.PART_HEADER + junk.length).put((byte) FrameType.REMAINING.code).put((byte) 0).putShort((short) 0);
                b.putInt(chunks).putInt(1).putInt(part).put((byte) 0).put(junk);
                d.feed(b.flip());
            }
        });
        assertTrue(e.getMessage().contains("carries more than " + (16L * chunks + 64 * 1024) + " compressed bytes"), e.getMessage());
    }

    @Test
    void growingCountsReadAsZeroBeyondWhatWasSet() {
        WriteCounts c = WriteCounts.growing(1 << 27);
        c.setRange(10, 12, 4);
        c.setRange(1 << 20, 1 << 20, 9);   // empty
        assertEquals(4, c.get(11));
        assertEquals(0, c.get(12));
        assertEquals(0, c.get((1 << 27) - 1));
        assertThrows(IndexOutOfBoundsException.class, () -> c.get(1 << 27));
        assertTrue(c.storedChunks() <= 1024);
        c.setRange(5000, 5001, 1);
        assertTrue(c.storedChunks() >= 5001 && c.storedChunks() <= 10_002, "stored " + c.storedChunks());
        assertEquals(1 << 27, c.toArray().length);
        BitSet none = new BitSet();
        assertEquals(0, new RemainingSet(none, c).size());
    }
}
