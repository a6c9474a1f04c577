package io.vmmig.strategy.peer;

/** The peer sent bytes that are not a valid frame stream; the connection must be closed. */
public final class PeerProtocolException extends RuntimeException {
    public PeerProtocolException(String message) {
        super(message);
    }
}
