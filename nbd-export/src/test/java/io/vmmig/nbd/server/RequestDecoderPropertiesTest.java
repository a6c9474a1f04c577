package io.vmmig.nbd.server;

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
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Random and mutated streams: only NbdProtocolException, never more memory than one max payload. */
class RequestDecoderPropertiesTest {
    private static final int MAX_PAYLOAD = 64 * 1024;

    /** Decodes everything; returns the largest single allocation, or -1 after a protocol error. */
    private static int feed(byte[] stream, List<Integer> pieceSizes) {
        int[] largest = {0};
        RequestDecoder d = new RequestDecoder(MAX_PAYLOAD, n -> {
            assertTrue(n >= 0 && n <= MAX_PAYLOAD, "allocation of " + n + " bytes exceeds the bound");
            largest[0] = Math.max(largest[0], n);
            return ByteBuffer.allocate(n);
        });
        int pos = 0;
        int i = 0;
        try {
            while (pos < stream.length) {
                int n = Math.min(stream.length - pos, pieceSizes.isEmpty() ? stream.length : 1 + pieceSizes.get(i++ % pieceSizes.size()));
                ByteBuffer piece = ByteBuffer.wrap(stream, pos, n);
                while (d.decode(piece) != null) {
                    // keep decoding
                }
                pos += n;
            }
        } catch (NbdProtocolException expected) {
            return -1;
        }
        return largest[0];
    }

    @Property(tries = 300)
    void randomBytesOnlyRaiseTheProtocolError(@ForAll @Size(max = 4096) byte[] stream,
                                              @ForAll @Size(max = 8) List<@IntRange(max = 200) Integer> pieces) {
        feed(stream, pieces); // any exception other than NbdProtocolException fails the property
    }

    @Property(tries = 500)
    void mutatedValidStreamsOnlyRaiseTheProtocolError(@ForAll("mutations") List<int[]> flips,
                                                      @ForAll @Size(max = 8) List<@IntRange(max = 64) Integer> pieces) {
        byte[] stream = RequestDecoderTest.STREAM.clone();
        for (int[] f : flips) stream[f[0] % stream.length] ^= (byte) f[1];
        feed(stream, pieces);
    }

    @Property(tries = 300)
    void validStreamDecodesIdenticallyHoweverItIsSplit(@ForAll @Size(max = 20) List<@IntRange(max = 150) Integer> pieces)
            throws Exception {
        byte[] s = RequestDecoderTest.STREAM;
        java.util.List<Integer> cuts = new java.util.ArrayList<>();
        int pos = 0;
        for (int p : pieces) {
            pos += p;
            if (pos > s.length) break;
            cuts.add(pos);
        }
        int[] c = cuts.stream().mapToInt(Integer::intValue).toArray();
        RequestDecoderTest.assertExpected(RequestDecoderTest.decodeAll(new RequestDecoder(1 << 20), s, c));
    }

    @Property(tries = 200)
    void hugeDeclaredWriteLengthsNeverAllocate(@ForAll long length) {
        byte[] w = RequestBytes.encode(0, 1, 1, 0, length & 0xffff_ffffL, null);
        int largest = feed(w, List.of());
        if ((length & 0xffff_ffffL) > MAX_PAYLOAD) assertEquals(-1, largest, "oversized WRITE must be a protocol error");
        else assertTrue(largest <= MAX_PAYLOAD);
    }

    @Provide
    Arbitrary<List<int[]>> mutations() {
        Arbitrary<int[]> flip = Arbitraries.integers().between(0, 10_000)
                .flatMap(at -> Arbitraries.integers().between(1, 255).map(x -> new int[]{at, x}));
        return flip.list().ofMinSize(1).ofMaxSize(6);
    }
}
