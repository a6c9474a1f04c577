package io.vmmig.nbd.server;

import io.vmmig.nbd.protocol.NbdCommand;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RequestDecoderTest {
    static final byte[] PAYLOAD = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static final byte[] STREAM = RequestBytes.concat(
            RequestBytes.encode(0, NbdCommand.READ.code, 1, 4096, 512, null),
            RequestBytes.encode(NbdCommand.FLAG_FUA, NbdCommand.WRITE.code, 2, 8192, PAYLOAD.length, PAYLOAD),
            RequestBytes.encode(0, NbdCommand.WRITE.code, 3, 0, 0, new byte[0]),
            RequestBytes.encode(NbdCommand.FLAG_REQ_ONE, NbdCommand.BLOCK_STATUS.code, 0xfeedfacecafebeefL, -4096L, 0xffff_ffffL, null),
            RequestBytes.encode(0, 42, 5, 0, 0, null),
            RequestBytes.encode(0, NbdCommand.DISC.code, 6, 0, 0, null));

    /** Feeds {@code stream} in the given pieces and returns everything decoded. */
    static List<NbdRequest> decodeAll(RequestDecoder d, byte[] stream, int... cuts) throws NbdProtocolException {
        List<NbdRequest> out = new ArrayList<>();
        int from = 0;
        for (int i = 0; i <= cuts.length; i++) {
            int to = i < cuts.length ? cuts[i] : stream.length;
            ByteBuffer piece = ByteBuffer.wrap(stream, from, to - from);
            NbdRequest r;
            while ((r = d.decode(piece)) != null) out.add(r);
            assertEquals(0, piece.remaining(), "decoder must consume every byte it is given");
            from = to;
        }
        return out;
    }

    static void assertExpected(List<NbdRequest> rs) {
        assertEquals(6, rs.size());
        assertEquals(new NbdRequest(0, 0, 1, 4096, 512, null), rs.get(0));
        NbdRequest w = rs.get(1);
        assertEquals(NbdCommand.WRITE, w.command());
        assertEquals(2, w.cookie());
        assertTrue(w.hasFlag(NbdCommand.FLAG_FUA));
        byte[] got = new byte[w.payload().remaining()];
        w.payload().duplicate().get(got);
        assertArrayEquals(PAYLOAD, got);
        assertEquals(0, rs.get(2).payload().remaining());
        NbdRequest bs = rs.get(3);
        assertEquals(0xfeedfacecafebeefL, bs.cookie());
        assertEquals(-4096L, bs.offset(), "offset is unsigned 64 bits");
        assertEquals(0xffff_ffffL, bs.length(), "length is unsigned 32 bits");
        assertNull(rs.get(4).command(), "unknown commands decode; the server answers EINVAL");
        assertEquals(NbdCommand.DISC, rs.get(5).command());
    }

    @Test
    void decodesAWholeStream() throws Exception {
        assertExpected(decodeAll(new RequestDecoder(1 << 20), STREAM));
    }

    @Test
    void decodesTheSameWhenSplitAtEveryPosition() throws Exception {
        for (int cut = 0; cut <= STREAM.length; cut++) {
            assertExpected(decodeAll(new RequestDecoder(1 << 20), STREAM, cut));
        }
    }

    @Test
    void decodesTheSameWhenSplitAtEveryPairOfPositions() throws Exception {
        for (int a = 0; a <= STREAM.length; a += 3) {
            for (int b = a; b <= STREAM.length; b++) assertExpected(decodeAll(new RequestDecoder(1 << 20), STREAM, a, b));
        }
    }

    @Test
    void decodesByteByByte() throws Exception {
        int[] cuts = new int[STREAM.length - 1];
        for (int i = 0; i < cuts.length; i++) cuts[i] = i + 1;
        RequestDecoder d = new RequestDecoder(1 << 20);
        assertExpected(decodeAll(d, STREAM, cuts));
        assertEquals(0, d.pendingBytes());
    }

    @Test
    void badMagicIsFatal() {
        byte[] bad = RequestBytes.encode(0, 0, 1, 0, 512, null);
        bad[0] ^= 1;
        RequestDecoder d = new RequestDecoder(1 << 20);
        NbdProtocolException e = assertThrows(NbdProtocolException.class, () -> d.decode(ByteBuffer.wrap(bad)));
        assertTrue(e.getMessage().contains("bad request magic"), e.getMessage());
        assertThrows(NbdProtocolException.class, () -> d.decode(ByteBuffer.wrap(STREAM)), "a failed decoder stays failed");
    }

    @Test
    void oversizedWriteIsFatalAndAllocatesNothing() {
        int[] allocated = {0};
        RequestDecoder d = new RequestDecoder(4096, n -> {
            allocated[0] += n;
            return ByteBuffer.allocate(n);
        });
        byte[] w = RequestBytes.encode(0, NbdCommand.WRITE.code, 1, 0, 0xffff_ffffL, null);
        NbdProtocolException e = assertThrows(NbdProtocolException.class, () -> d.decode(ByteBuffer.wrap(w)));
        assertTrue(e.getMessage().contains("4294967295"), e.getMessage());
        assertEquals(0, allocated[0]);
    }

    @Test
    void writeOfExactlyMaxPayloadIsAccepted() throws Exception {
        byte[] data = new byte[4096];
        data[4095] = 7;
        List<NbdRequest> rs = decodeAll(new RequestDecoder(4096), RequestBytes.encode(0, 1, 9, 0, 4096, data));
        assertEquals(1, rs.size());
        assertEquals(7, rs.get(0).payload().get(4095));
    }
}
