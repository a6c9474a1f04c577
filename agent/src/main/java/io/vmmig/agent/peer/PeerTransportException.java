package io.vmmig.agent.peer;

/** Root of the peer transport's errors: a connection could not be set up, was refused, or broke. */
public class PeerTransportException extends RuntimeException {
    public PeerTransportException(String message) {
        super(message);
    }

    public PeerTransportException(String message, Throwable cause) {
        super(message, cause);
    }
}
