package io.vmmig.nbd.client;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

import java.nio.ByteBuffer;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Fuzzing the reply decoder: only protocol errors, bounded allocation, split-invariance. */
class ReplyDecoderPropertiesTest {

    private static final int LIMIT = 1 << 16;

    /** Feeds bytes in pieces; any throwable other than NbdProtocolException fails the property. */
    private static void feedPieces(byte[] s, List<Integer> cuts, boolean discard) {
        ReplyDecoder d = new ReplyDecoder(new RecordingListener(ReplyDecoderTest.REQUESTS, discard), LIMIT);
        int pos = 0;
        try {
            for (int c : cuts) {
                int end = Math.min(s.length, pos + c);
                d.feed(ByteBuffer.wrap(s, pos, end - pos));
                pos = end;
            }
            d.feed(ByteBuffer.wrap(s, pos, s.length - pos));
        } catch (NbdProtocolException expected) {
            // the only failure allowed
        }
    }

    @Property(tries = 2000)
    void randomBytesGiveOnlyProtocolErrors(@ForAll @Size(max = 300) byte[] bytes,
                                           @ForAll @Size(max = 8) List<@IntRange(min = 0, max = 64) Integer> cuts) {
        feedPieces(bytes, cuts, false);
    }

    @Provide
    Arbitrary<byte[]> structuredHeaders() {
        // valid magic and cookie, random flags/type/length: exercises length bounds and chunk types
        return Arbitraries.integers().between(0, 0xffff).flatMap(type ->
                Arbitraries.integers().flatMap(len -> Arbitraries.bytes().array(byte[].class).ofMaxSize(64).map(tail -> {
                    ByteBuffer b = ByteBuffer.allocate(20 + tail.length);
                    b.putInt(io.vmmig.nbd.protocol.NbdMagic.STRUCTURED_REPLY).putShort((short) 1).putShort(type.shortValue())
                            .putLong(1 + (len & 3)).putInt(len).put(tail);
                    return b.array();
                })));
    }

    @Property(tries = 2000)
    void randomChunkHeadersGiveOnlyProtocolErrors(@ForAll("structuredHeaders") byte[] bytes) {
        feedPieces(bytes, List.of(), false);
        feedPieces(bytes, List.of(3, 5, 11), true);
    }

    @Property(tries = 1000)
    void mutatedValidStreamsGiveOnlyProtocolErrors(@ForAll @Size(min = 1, max = 6) List<@IntRange(min = 0, max = 100_000) Integer> positions,
                                                   @ForAll @Size(min = 6, max = 6) byte[] values,
                                                   @ForAll @Size(max = 5) List<@IntRange(min = 1, max = 40) Integer> cuts) {
        byte[] s = ReplyDecoderTest.validStream();
        for (int i = 0; i < positions.size(); i++) s[positions.get(i) % s.length] = values[i];
        feedPieces(s, cuts, false);
    }

    @Property(tries = 300)
    void validStreamDecodesIdenticallyHoweverSplit(@ForAll @Size(max = 12) List<@IntRange(min = 1, max = 50) Integer> cuts)
            throws NbdProtocolException {
        byte[] s = ReplyDecoderTest.validStream();
        List<String> expected = ReplyDecoderTest.decodeWhole(s);
        RecordingListener l = new RecordingListener(ReplyDecoderTest.REQUESTS, false);
        ReplyDecoder d = new ReplyDecoder(l, LIMIT);
        int pos = 0;
        for (int c : cuts) {
            int end = Math.min(s.length, pos + c);
            d.feed(ByteBuffer.wrap(s, pos, end - pos));
            pos = end;
        }
        d.feed(ByteBuffer.wrap(s, pos, s.length - pos));
        assertEquals(expected, l.events);
    }
}
