package io.vmmig.agent.peer;

import io.netty.channel.DefaultMessageSizeEstimator;
import io.netty.channel.MessageSizeEstimator;
import io.vmmig.strategy.peer.Frame;

/**
 * Sizes {@link Frame}s for Netty's write accounting, so frames queued but not yet encoded count
 * against the channel's write-buffer water marks (and so in {@link NettyPeerChannel#send}'s backpressure).
 */
final class FrameSizeEstimator implements MessageSizeEstimator {
    static final FrameSizeEstimator INSTANCE = new FrameSizeEstimator();
    private static final MessageSizeEstimator.Handle BYTES = DefaultMessageSizeEstimator.DEFAULT.newHandle();
    private static final Handle HANDLE = msg -> msg instanceof Frame f ? size(f) : BYTES.size(msg);

    /** Encoded size of a frame, close enough for flow control (exact for the big ones). */
    static int size(Frame f) {
        if (f instanceof Frame.ChunkData d) return 37 + d.payload().remaining();
        if (f instanceof Frame.Remaining r) return 64 + r.set().size() / 4; // compressed runs: a rough bound
        if (f instanceof Frame.Unknown u) return 8 + u.body().remaining();
        if (f instanceof Frame.Fingerprints p) return 16 + p.count() * (8 + 4 + Frame.FINGERPRINT_BYTES);
        return 64;
    }

    @Override
    public Handle newHandle() {
        return HANDLE;
    }
}
