package io.vmmig.strategy.peer;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.WriteCounts;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FrameCodecTest {
    private static final int MAX = 1 << 20;
    private final FrameEncoder encoder = new FrameEncoder();

    private static List<Frame> sampleFrames() {
        byte[] data = new byte[4096];
        new Random(7).nextBytes(data);
        BitSet remaining = new BitSet();
        remaining.set(3);
        remaining.set(17);
        int[] counts = new int[20];
        counts[3] = 2;
        counts[17] = 9;
        return List.of(
                new Frame.Hello(Frame.PROTOCOL_VERSION, "mig-1", new byte[] {1, 2, 3, (byte) 0xff}),
                new Frame.Welcome(1),
                new Frame.ChunkData(0, 1L << 40, data.length, Frame.Encoding.RAW, ByteBuffer.wrap(data)),
                new Frame.ChunkData(42, 65536, 1 << 20, Frame.Encoding.ZERO, ByteBuffer.allocate(0)),
                new Frame.Pull(7, 3L << 33, 2 << 20, Frame.Priority.ON_DEMAND),
                new Frame.Ack(65536, 4096),
                new Frame.Remaining(new RemainingSet(remaining, WriteCounts.of(counts))),
                new Frame.Done(),
                new Frame.Resume(12, 7),
                new Frame.Fingerprints(5, new long[] {0, 1L << 36}, new int[] {65536, 4096}, sha(2)),
                new Frame.Have(5, 10, bits(0, 9)),
                new Frame.Have(6, 0, new BitSet()),
                new Frame.Error(Frame.Error.UNAUTHORIZED, "token refused for migration mig-1 ✓"),
                new Frame.Cancel("operator"), new Frame.Control("{\"type\":\"prepare\",\"vm\":\"h\u00e9\"}"));
    }

    private static byte[] sha(int n) {
        byte[] b = new byte[n * Frame.FINGERPRINT_BYTES];
        new Random(n).nextBytes(b);
        return b;
    }

    private static BitSet bits(int... set) {
        BitSet b = new BitSet();
        for (int i : set) b.set(i);
        return b;
    }

    @Test
    void fingerprintsAndHaveOfWrongShapeAreProtocolErrors() {
        byte[] tooFew = ByteBuffer.allocate(8 + 20).putInt(1).putInt(1).putLong(0).putInt(65536).array();
        assertTrue(rejects(frame(16, 0, 0, tooFew)).getMessage().contains("needs 44 bytes"));
        byte[] tooMany = ByteBuffer.allocate(8).putInt(1).putInt(Frame.MAX_FINGERPRINTS + 1).array();
        assertTrue(rejects(frame(16, 0, 0, tooMany)).getMessage().contains("at most"));
        byte[] zeroLength = ByteBuffer.allocate(8 + 44).putInt(1).putInt(1).putLong(0).putInt(0).array();
        assertTrue(rejects(frame(16, 0, 0, zeroLength)).getMessage().contains("fingerprinted length 0"));
        byte[] bitBeyond = ByteBuffer.allocate(9).putInt(1).putInt(3).put((byte) 0x08).array();
        assertTrue(rejects(frame(17, 0, 0, bitBeyond)).getMessage().contains("beyond 3 chunks"));
        byte[] shortBitmap = ByteBuffer.allocate(9).putInt(1).putInt(9).put((byte) 1).array();
        assertTrue(rejects(frame(17, 0, 0, shortBitmap)).getMessage().contains("needs 2 bitmap bytes"));
    }

    private ByteBuffer stream(List<Frame> frames) {
        List<ByteBuffer> parts = new ArrayList<>();
        int n = 0;
        for (Frame f : frames) {
            ByteBuffer b = encoder.encode(f);
            n += b.remaining();
            parts.add(b);
        }
        ByteBuffer all = ByteBuffer.allocate(n);
        parts.forEach(all::put);
        return all.flip();
    }

    private static List<Frame> decode(ByteBuffer bytes, int... cuts) {
        List<Frame> out = new ArrayList<>();
        FrameDecoder d = new FrameDecoder(MAX, out::add);
        int pos = 0;
        for (int cut : cuts) {
            d.feed(bytes.slice(pos, cut - pos));
            pos = cut;
        }
        d.feed(bytes.slice(pos, bytes.limit() - pos));
        assertFalse(d.midFrame());
        return out;
    }

    /** Compares frames, ChunkData by content (ByteBuffer equality is by remaining bytes). */
    private static void assertSameFrames(List<Frame> expected, List<Frame> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            Frame e = expected.get(i), a = actual.get(i);
            if (e instanceof Frame.ChunkData ed && a instanceof Frame.ChunkData ad) {
                assertEquals(ed.requestId(), ad.requestId());
                assertEquals(ed.offset(), ad.offset());
                assertEquals(ed.length(), ad.length());
                assertEquals(ed.encoding(), ad.encoding());
                assertEquals(ed.payload(), ad.payload());
            } else {
                assertEquals(e, a);
            }
        }
    }

    @Test
    void everyFrameRoundTrips() {
        List<Frame> frames = sampleFrames();
        assertSameFrames(frames, decode(stream(frames)));
    }

    @Test
    void streamSplitAtEveryPositionDecodesIdentically() {
        List<Frame> frames = sampleFrames();
        ByteBuffer bytes = stream(frames);
        for (int cut = 0; cut <= bytes.limit(); cut++) {
            assertSameFrames(frames, decode(bytes, cut));
        }
    }

    @Test
    void streamFedByteByByteDecodesIdentically() {
        List<Frame> frames = sampleFrames();
        ByteBuffer bytes = stream(frames);
        List<Frame> out = new ArrayList<>();
        FrameDecoder d = new FrameDecoder(MAX, out::add);
        for (int i = 0; i < bytes.limit(); i++) {
            d.feed(bytes.slice(i, 1));
            assertEquals(i < bytes.limit() - 1, d.midFrame() || out.size() < frames.size());
        }
        assertSameFrames(frames, out);
    }

    private static PeerProtocolException rejects(byte[] bytes) {
        FrameDecoder d = new FrameDecoder(MAX, f -> fail("no frame expected, got " + f));
        PeerProtocolException e = assertThrows(PeerProtocolException.class, () -> d.feed(ByteBuffer.wrap(bytes)));
        assertThrows(PeerProtocolException.class, () -> d.feed(ByteBuffer.allocate(1)), "stays failed");
        return e;
    }

    private static byte[] frame(int type, int flags, int reserved, byte[] body) {
        return ByteBuffer.allocate(8 + body.length).putInt(4 + body.length).put((byte) type).put((byte) flags)
                .putShort((short) reserved).put(body).array();
    }

    @Test
    void malformedFramesAreProtocolErrorsNamingTheProblem() {
        assertTrue(rejects(new byte[] {0, 0, 0, 1}).getMessage().contains("frame length 1"));
        assertTrue(rejects(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}).getMessage()
                .contains("frame length 4294967295"));
        assertTrue(rejects(frame(7, 0, 5, new byte[0])).getMessage().contains("reserved"));
        assertTrue(rejects(frame(99, 0, 0, new byte[0])).getMessage().contains("type 99 not supported"));
        assertTrue(rejects(frame(2, 0, 0, new byte[] {0})).getMessage().contains("truncated WELCOME"));
        assertTrue(rejects(frame(7, 0, 0, new byte[] {0})).getMessage().contains("trailing"));
        assertTrue(rejects(frame(9, 0, 0, new byte[] {0, 2, (byte) 0xc3, (byte) 0x28})).getMessage().contains("UTF-8"));
        byte[] badRemaining = remainingPart(4, 1, new byte[] {4, 0, 1}); // one chunk at 4 on a disk of 4
        assertTrue(rejects(frame(6, 0, 0, badRemaining)).getMessage().contains("outside 0..3"));
        byte[] hugeDisk = remainingPart(Integer.MAX_VALUE, 0, new byte[0]);
        assertTrue(rejects(frame(6, 0, 0, hugeDisk)).getMessage().contains("exceeds"));
        byte[] payloadPastEnd = ByteBuffer.allocate(25).putLong(0).putLong(0).putInt(4).put((byte) 0).putInt(4).array();
        assertTrue(rejects(frame(3, 0, 0, payloadPastEnd)).getMessage().contains("beyond frame end"));
        byte[] rawMismatch = ByteBuffer.allocate(27).putLong(0).putLong(0).putInt(4).put((byte) 0).putInt(2).put((byte) 1).put((byte) 2).array();
        assertTrue(rejects(frame(3, 0, 0, rawMismatch)).getMessage().contains("invalid CHUNK_DATA"));
        byte[] badEncoding = ByteBuffer.allocate(25).putLong(0).putLong(0).putInt(0).put((byte) 9).putInt(0).array();
        assertTrue(rejects(frame(3, 0, 0, badEncoding)).getMessage().contains("encoding 9"));
        byte[] negativeOffset = ByteBuffer.allocate(12).putLong(-1).putInt(0).array();
        assertTrue(rejects(frame(5, 0, 0, negativeOffset)).getMessage().contains("negative"));
    }

    @Test
    void unknownIgnorableFrameIsDeliveredAsUnknownAndTheStreamGoesOn() {
        byte[] fingerprints = frame(19, Frame.FLAG_IGNORABLE, 0, "abc".getBytes(StandardCharsets.US_ASCII));
        byte[] future = frame(200, Frame.FLAG_IGNORABLE, 0, new byte[] {1});
        ByteBuffer all = ByteBuffer.allocate(fingerprints.length + future.length + 64);
        all.put(fingerprints).put(future).put(encoder.encode(new Frame.Done())).flip();
        List<Frame> out = decode(all);
        assertEquals(3, out.size());
        assertEquals(19, ((Frame.Unknown) out.get(0)).code());
        assertEquals(200, ((Frame.Unknown) out.get(1)).code());
        assertEquals(new Frame.Done(), out.get(2));
    }

    @Test
    void randomAndMutatedStreamsOnlyEverGiveFramesOrProtocolErrors() {
        Random rnd = new Random(1234);
        byte[] valid = new byte[stream(sampleFrames()).remaining()];
        stream(sampleFrames()).get(valid);
        for (int round = 0; round < 3000; round++) {
            byte[] bytes;
            if (round % 2 == 0) {
                bytes = valid.clone();
                for (int m = 0; m < 1 + rnd.nextInt(4); m++) bytes[rnd.nextInt(bytes.length)] = (byte) rnd.nextInt(256);
            } else {
                bytes = new byte[rnd.nextInt(200)];
                rnd.nextBytes(bytes);
            }
            FrameDecoder d = new FrameDecoder(MAX, f -> assertNotNull(f));
            int pos = 0;
            try {
                while (pos < bytes.length) {
                    int n = 1 + rnd.nextInt(bytes.length - pos);
                    d.feed(ByteBuffer.wrap(bytes, pos, n));
                    pos += n;
                }
            } catch (PeerProtocolException expected) {
                // the only acceptable failure
            }
        }
    }

    /** A one-part REMAINING body carrying these (uncompressed) runs. */
    private static byte[] remainingPart(int chunks, int remaining, byte[] runs) {
        java.util.zip.Deflater d = new java.util.zip.Deflater();
        d.setInput(runs);
        d.finish();
        byte[] z = new byte[256];
        int n = d.deflate(z);
        d.end();
        return ByteBuffer.allocate(13 + n).putInt(chunks).putInt(remaining).putInt(0).put((byte) 1).put(z, 0, n).array();
    }
}
