package io.vmmig.strategy.peer;

import static org.junit.jupiter.api.Assertions.*;

import com.github.luben.zstd.Zstd;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** CHUNK_DATA with zstd: what crosses for compressible and random chunks, and what the decoder refuses. */
class ChunkCompressionTest {
    private static final int CHUNK = 64 * 1024;
    private final FrameEncoder encoder = new FrameEncoder();

    /** Log-like text: compresses well, as guest file systems with text, binaries and tables do. */
    static byte[] compressible(int n, long seed) {
        Random r = new Random(seed);
        StringBuilder b = new StringBuilder();
        while (b.length() < n)
            b.append("2026-12-02T13:").append(10 + r.nextInt(50)).append(" host kernel: eth0 rx ").append(r.nextInt(100000))
                    .append(" packets, tx ").append(r.nextInt(100000)).append(" packets, errors 0\n");
        return b.substring(0, n).getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] random(int n, long seed) {
        byte[] d = new byte[n];
        new Random(seed).nextBytes(d);
        return d;
    }

    private List<Frame> roundTrip(ByteBuffer wire) {
        List<Frame> out = new ArrayList<>();
        FrameDecoder decoder = new FrameDecoder(1 << 24, out::add);
        decoder.feed(wire);
        return out;
    }

    @Test
    void compressibleChunkGoesAsZstdAtLessThanHalfAndDecodesToTheSameBytes() {
        byte[] data = compressible(CHUNK, 1);
        Frame.ChunkData f = ChunkPayloads.encode(7, 1L << 30, ByteBuffer.wrap(data), Frame.Encoding.ZSTD);
        assertEquals(Frame.Encoding.ZSTD, f.encoding());
        assertTrue(f.payload().remaining() < CHUNK / 2, "zstd payload " + f.payload().remaining() + " bytes");
        List<Frame> decoded = roundTrip(encoder.encode(f));
        assertEquals(1, decoded.size());
        Frame.ChunkData d = (Frame.ChunkData) decoded.get(0);
        assertEquals(Frame.Encoding.ZSTD, d.encoding());
        ByteBuffer dst = ByteBuffer.allocate(CHUNK);
        ChunkPayloads.decodeInto(d, dst);
        assertArrayEquals(data, dst.array());
        assertFalse(dst.hasRemaining());
    }

    @Test
    void decodesIntoASliceOfALargerBuffer() {
        byte[] data = compressible(CHUNK, 2);
        Frame.ChunkData f = ChunkPayloads.encode(0, 0, ByteBuffer.wrap(data), Frame.Encoding.ZSTD);
        ByteBuffer big = ByteBuffer.allocate(3 * CHUNK);
        big.position(CHUNK).limit(2 * CHUNK);
        ChunkPayloads.decodeInto(f, big.slice());
        byte[] middle = new byte[CHUNK];
        big.clear().position(CHUNK);
        big.get(middle);
        assertArrayEquals(data, middle);
        assertEquals(0, big.get(0));
        assertEquals(0, big.get(2 * CHUNK));
    }

    @Test
    void randomChunksGoRawAndCostNoExtraByteOnTheWire() {
        long rawWire = 0, zstdWire = 0;
        for (int i = 0; i < 64; i++) {
            byte[] data = random(CHUNK, 100 + i);
            Frame.ChunkData z = ChunkPayloads.encode(0, (long) i * CHUNK, ByteBuffer.wrap(data), Frame.Encoding.ZSTD);
            Frame.ChunkData r = ChunkPayloads.encode(0, (long) i * CHUNK, ByteBuffer.wrap(data), Frame.Encoding.RAW);
            assertEquals(Frame.Encoding.RAW, z.encoding(), "random chunk " + i + " did not shrink, so it goes raw");
            zstdWire += encoder.encode(z).remaining();
            rawWire += encoder.encode(r).remaining();
        }
        assertTrue(zstdWire <= rawWire + rawWire / 100, "zstd " + zstdWire + " vs raw " + rawWire + " bytes on the wire");
        assertEquals(rawWire, zstdWire);
    }

    @Test
    void halfRandomHalfTextStillShrinks() {
        byte[] data = new byte[CHUNK];
        System.arraycopy(random(CHUNK / 2, 3), 0, data, 0, CHUNK / 2);
        System.arraycopy(compressible(CHUNK / 2, 4), 0, data, CHUNK / 2, CHUNK / 2);
        Frame.ChunkData f = ChunkPayloads.encode(0, 0, ByteBuffer.wrap(data), Frame.Encoding.ZSTD);
        assertEquals(Frame.Encoding.ZSTD, f.encoding());
        assertTrue(f.payload().remaining() < CHUNK * 3 / 4, f.payload().remaining() + " bytes");
        ByteBuffer dst = ByteBuffer.allocate(CHUNK);
        ChunkPayloads.decodeInto(f, dst);
        assertArrayEquals(data, dst.array());
    }

    @Test
    void zeroChunkStaysZeroWhateverTheCodec() {
        Frame.ChunkData f = ChunkPayloads.encode(0, 0, ByteBuffer.allocate(CHUNK), Frame.Encoding.ZSTD);
        assertEquals(Frame.Encoding.ZERO, f.encoding());
        assertEquals(0, f.payload().remaining());
    }

    @Test
    void corruptZstdPayloadIsAProtocolError() {
        byte[] data = compressible(CHUNK, 5);
        Frame.ChunkData f = ChunkPayloads.encode(0, 4096, ByteBuffer.wrap(data), Frame.Encoding.ZSTD);
        byte[] payload = new byte[f.payload().remaining()];
        f.payload().get(payload);
        for (int i = 4; i < 12; i++) payload[i] ^= 0x5a;   // frame header and first block header
        Frame.ChunkData bad = new Frame.ChunkData(0, 4096, CHUNK, Frame.Encoding.ZSTD, ByteBuffer.wrap(payload));
        PeerProtocolException e = assertThrows(PeerProtocolException.class, () -> ChunkPayloads.decodeInto(bad, ByteBuffer.allocate(CHUNK)));
        assertTrue(e.getMessage().contains("zstd chunk at offset 4096"), e.getMessage());
    }

    @Test
    void zstdThatInflatesBeyondTheChunkLengthIsRefusedWithoutWritingPastIt() {
        // a small payload that would decompress to 16 MiB, claimed to be a 64 KiB chunk
        byte[] bomb = Zstd.compress(new byte[16 << 20], 3);
        assertTrue(bomb.length < CHUNK);
        Frame.ChunkData f = new Frame.ChunkData(0, 0, CHUNK, Frame.Encoding.ZSTD, ByteBuffer.wrap(bomb));
        ByteBuffer big = ByteBuffer.allocate(2 * CHUNK);
        big.limit(CHUNK);
        assertThrows(PeerProtocolException.class, () -> ChunkPayloads.decodeInto(f, big.slice()));
        big.clear();
        for (int i = CHUNK; i < 2 * CHUNK; i++) assertEquals(0, big.get(i));
    }

    @Test
    void zstdShorterThanTheChunkLengthIsRefused() {
        byte[] data = compressible(CHUNK / 2, 6);
        byte[] z = Zstd.compress(data, 1);
        Frame.ChunkData f = new Frame.ChunkData(0, 0, CHUNK, Frame.Encoding.ZSTD, ByteBuffer.wrap(z));
        PeerProtocolException e = assertThrows(PeerProtocolException.class, () -> ChunkPayloads.decodeInto(f, ByteBuffer.allocate(CHUNK)));
        assertTrue(e.getMessage().contains("decompresses to " + CHUNK / 2), e.getMessage());
    }

    @Test
    void unknownEncodingCodeIsStillRefused() {
        ByteBuffer wire = encoder.encode(new Frame.ChunkData(0, 0, 4, Frame.Encoding.RAW, ByteBuffer.wrap(new byte[] {1, 2, 3, 4})));
        wire.put(4 + 4 + 8 + 8 + 4, (byte) 9);
        PeerProtocolException e = assertThrows(PeerProtocolException.class, () -> roundTrip(wire));
        assertTrue(e.getMessage().contains("unknown chunk encoding 9"), e.getMessage());
    }

    @Test
    void parsesTheConfigNames() {
        assertEquals(ChunkCompression.ADAPTIVE, ChunkCompression.parse(" Adaptive "));
        assertEquals(ChunkCompression.ZSTD, ChunkCompression.parse("zstd"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChunkCompression.parse("lz4"));
        assertTrue(e.getMessage().contains("'lz4'"), e.getMessage());
    }
}
