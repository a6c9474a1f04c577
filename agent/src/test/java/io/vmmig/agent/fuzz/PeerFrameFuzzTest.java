package io.vmmig.agent.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.FrameDecoder;
import io.vmmig.strategy.peer.FrameEncoder;
import io.vmmig.strategy.peer.PeerProtocolException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The peer frame decoder (every frame type, REMAINING's multi-part zlib runs included) on arbitrary
 * bytes: it either yields frames or throws {@link PeerProtocolException}, nothing else; the buffer it
 * holds never exceeds twice the bytes received (a length field alone allocates nothing); a hand-over
 * never describes more chunks than allowed nor stores more counts than its runs reached; every frame
 * decoded re-encodes to one that decodes equal.
 *
 * <p>Input: byte 0 picks the limits (bit 0: the pre-authorisation cap or 1 MiB; bits 1-3: the hand-over
 * limit), byte 1 how the rest is cut into pieces, then the stream. Seeds in
 * {@code PeerFrameFuzzTestInputs/frames/}. Regression run in {@code mvn test}; fuzzing: agent/README-peer.md.
 */
class PeerFrameFuzzTest {
    /** What sessions set: 0 (no hand-over on this connection) up to a 16 TiB disk at 1 MiB chunks (64 MiB of counts when it all remains). */
    private static final int[] HAND_OVER_LIMITS = {0, 1, 64, 4096, 1 << 16, 1 << 20, 1 << 22, 1 << 24};

    @FuzzTest(maxDuration = "45s")
    void frames(byte[] input) {
        if (input.length < 2) return;
        int limit = (input[0] & 1) == 0 ? FrameDecoder.PRE_AUTH_MAX_FRAME : 1 << 20;
        int handOverLimit = HAND_OVER_LIMITS[(input[0] >> 1) & 7];
        int piece = 1 + (input[1] & 0xFF) * 37;
        List<Frame> frames = new ArrayList<>();
        FrameDecoder d = new FrameDecoder(limit, frames::add);
        d.limitHandOver(handOverLimit);
        ByteBuffer stream = ByteBuffer.wrap(input, 2, input.length - 2);
        long fed = 0;
        try {
            while (stream.hasRemaining()) {
                int n = Math.min(piece, stream.remaining());
                ByteBuffer b = stream.slice(stream.position(), n);
                stream.position(stream.position() + n);
                d.feed(b);
                fed += n;
                assertTrue(d.bufferedCapacity() <= Math.max(64 * 1024, 2 * fed),
                        "holds " + d.bufferedCapacity() + " bytes after receiving " + fed);
            }
        } catch (PeerProtocolException expected) {
            // the one way a decoder refuses bytes
        }
        for (Frame f : frames) {
            if (f instanceof Frame.Remaining r) {
                assertTrue(r.set().counts().chunks() <= handOverLimit, r.set().counts().chunks() + " chunks over " + handOverLimit);
                assertTrue(r.set().counts().storedChunks() <= Math.max(1024, r.set().chunks().length() * 2L),
                        "stored " + r.set().counts().storedChunks() + " counts for runs up to " + r.set().chunks().length());
            }
            if (f instanceof Frame.Unknown) continue;
            List<Frame> again = new ArrayList<>();
            FrameDecoder check = new FrameDecoder(64 << 20, again::add);
            check.feed(new FrameEncoder().encode(f));
            assertEquals(List.of(f), again, "re-encoded " + f.type());
        }
    }
}
