package io.vmmig.agent.peer;

/** The destination answered our HELLO with an ERROR frame (UNAUTHORIZED, PROTOCOL, ...) and closed. */
public final class PeerUnauthorizedException extends PeerTransportException {
    private final int code;
    private final String reason;

    public PeerUnauthorizedException(String remote, int code, String reason) {
        super(remote + " refused the migration (error " + code + "): " + reason);
        this.code = code;
        this.reason = reason;
    }

    /** The ERROR frame's code, e.g. {@link io.vmmig.strategy.peer.Frame.Error#UNAUTHORIZED}. */
    public int code() { return code; }

    /** The reason the destination gave. */
    public String reason() { return reason; }
}
