package io.vmmig.strategy.peer;

import java.util.concurrent.CompletableFuture;

/**
 * One connection between a source and a destination agent, carrying {@link Frame}s. The transport
 * behind it (plain TCP here, mutual TLS in the agent) is not the engine's business.
 */
public interface PeerChannel extends AutoCloseable {

    /** Receives the frames of a channel, in order, on the channel's reader thread. */
    interface Handler {
        void onFrame(PeerChannel channel, Frame frame);

        /** The channel closed; {@code cause} is null for an orderly close by this side. */
        default void onClosed(PeerChannel channel, Throwable cause) { }
    }

    /** Starts delivering received frames to {@code handler}. Called once. */
    void start(Handler handler);

    /** Sends a frame; thread-safe; blocks while the transport applies backpressure. */
    void send(Frame frame) throws PeerChannelClosedException;

    /**
     * Sends a frame only if the transport takes it without waiting (last words on the way out: a
     * CANCEL over a link that no longer moves must not block the cancellation). Returns whether it
     * was sent. This default sends (a transport without backpressure never waits long).
     */
    default boolean offer(Frame frame) {
        try {
            send(frame);
            return true;
        } catch (PeerChannelClosedException e) {
            return false;
        }
    }

    /**
     * From now on a received hand-over (REMAINING) may describe at most {@code maxChunks} chunks: the
     * session's disk geometry, which the transport's decoder does not know. This default does nothing.
     */
    default void limitHandOver(int maxChunks) { }

    /** Completes when the channel is closed, exceptionally with the cause if it broke. */
    CompletableFuture<Void> closed();

    /** A human-readable name of the remote end, for logs and errors. */
    String remote();

    @Override
    void close();
}
