package io.vmmig.strategy.peer;

/** The peer connection is closed or broke; nothing more can be sent on it. */
public final class PeerChannelClosedException extends RuntimeException {
    public PeerChannelClosedException(String message, Throwable cause) {
        super(message, cause);
    }
}
