package io.vmmig.nbd.client;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReplyDecoderTest {

    static final Map<Long, long[]> REQUESTS = Map.of(
            1L, new long[] {0, 16},        // READ 0+16
            2L, new long[] {4096, 8},      // READ 4096+8
            3L, new long[] {0, -1},        // BLOCK_STATUS / other
            4L, new long[] {0, -1});

    static byte[] validStream() {
        return new ReplyBytes()
                .data(1, false, 0, new byte[] {1, 2, 3, 4, 5, 6, 7, 8})
                .hole(1, false, 8, 4)
                .error(2, false, 5, "bad sector", 4100)
                .data(1, true, 12, new byte[] {9, 10, 11, 12})
                .blockStatus(3, false, 1, 4096, 0, 8192, 3)
                .blockStatus(3, true, 2, 12288, 1)
                .none(2)
                .simple(4, 0, new byte[0])
                .simple(2, 0, new byte[] {(byte) 0xaa, (byte) 0xbb, 0, 0, 0, 0, 0, (byte) 0xff})
                .error(4, true, 22, "", -1)
                .bytes();
    }

    static List<String> decodeWhole(byte[] stream) throws NbdProtocolException {
        RecordingListener l = new RecordingListener(REQUESTS, false);
        new ReplyDecoder(l, 1 << 16).feed(ByteBuffer.wrap(stream));
        return l.events;
    }

    @Test
    void decodesEveryReplyKind() throws Exception {
        List<String> events = decodeWhole(validStream());
        assertEquals(List.of(
                "data 1 f=0 @0+8 0102030405060708",
                "hole 1 f=0 @8+4",
                "error 2 f=0 t=32770 errno=5 'bad sector' @4100",
                "data 1 f=1 @12+4 090a0b0c",
                "bs 3 f=0 ctx=1 [4096, 0, 8192, 3]",
                "bs 3 f=1 ctx=2 [12288, 1]",
                "none 2 f=1",
                "simple 4 error=0",
                "simple-done 4",
                "simple 2 error=0",
                "simple-done 2 aabb0000000000ff",
                "error 4 f=1 t=32769 errno=22 '' @-1"), events);
    }

    @Test
    void splitAtEveryPositionDecodesIdentically() throws Exception {
        byte[] s = validStream();
        List<String> expected = decodeWhole(s);
        for (int i = 0; i <= s.length; i++) {
            for (int j = i; j <= s.length; j += 7) {
                RecordingListener l = new RecordingListener(REQUESTS, false);
                ReplyDecoder d = new ReplyDecoder(l, 1 << 16);
                d.feed(ByteBuffer.wrap(s, 0, i));
                d.feed(ByteBuffer.wrap(s, i, j - i));
                d.feed(ByteBuffer.wrap(s, j, s.length - j));
                assertEquals(expected, l.events, "split at " + i + "," + j);
                assertTrue(d.atReplyBoundary());
            }
        }
    }

    @Test
    void byteByByteAndDirectTargetAgree() throws Exception {
        byte[] s = validStream();
        List<String> expected = decodeWhole(s);
        RecordingListener l = new RecordingListener(REQUESTS, false);
        ReplyDecoder d = new ReplyDecoder(l, 1 << 16);
        int pos = 0;
        while (pos < s.length) {
            ByteBuffer t = d.directTarget();
            if (t != null) {   // as the reader thread does: read straight into the target, one byte at a time
                t.put(s[pos++]);
                d.directFilled(1);
            } else {
                d.feed(ByteBuffer.wrap(s, pos++, 1));
            }
        }
        assertEquals(expected, l.events);
    }

    @Test
    void badMagicIsAProtocolError() {
        byte[] s = new ReplyBytes().none(1).bytes();
        s[0] ^= 1;
        NbdProtocolException e = assertThrows(NbdProtocolException.class, () -> decodeWhole(s));
        assertTrue(e.getMessage().contains("magic"), e.getMessage());
    }

    @Test
    void oversizedMetadataChunkIsRefusedBeforeAllocation() {
        byte[] s = new ReplyBytes().chunk(3, 1, 5, new byte[0]).bytes();
        ByteBuffer.wrap(s).putInt(16, 0x7ffffffc);   // BLOCK_STATUS (4+8n) claiming 2 GiB of payload
        NbdProtocolException e = assertThrows(NbdProtocolException.class, () -> decodeWhole(s));
        assertTrue(e.getMessage().contains("exceeds limit"), e.getMessage());
    }

    @Test
    void dataOutsideTheRequestIsRefused() {
        byte[] s = new ReplyBytes().data(2, true, 0, new byte[4]).bytes();
        assertThrows(NbdProtocolException.class, () -> decodeWhole(s));
    }

    @Test
    void unknownCookieIsRefused() {
        assertThrows(NbdProtocolException.class, () -> decodeWhole(new ReplyBytes().simple(99, 0, new byte[0]).bytes()));
    }

    @Test
    void errorChunkWithInconsistentMessageLengthIsRefused() {
        byte[] s = new ReplyBytes().error(4, true, 5, "abc", -1).bytes();
        s[20 + 5] = 9;   // message length 9 > 3 bytes present
        assertThrows(NbdProtocolException.class, () -> decodeWhole(s));
    }

    @Test
    void decoderStaysFailed() {
        RecordingListener l = new RecordingListener(REQUESTS, false);
        ReplyDecoder d = new ReplyDecoder(l, 1 << 16);
        assertThrows(NbdProtocolException.class, () -> d.feed(ByteBuffer.wrap(new byte[] {1, 2, 3, 4})));
        assertThrows(NbdProtocolException.class, () -> d.feed(ByteBuffer.wrap(new ReplyBytes().none(1).bytes())));
    }
}
