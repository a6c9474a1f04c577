package io.vmmig.agent.peer;

/**
 * How many connections the peer listener holds at once (agent/README-peer.md, "Bounds"). A
 * connection over a limit is closed as soon as it is accepted, before TLS, and costs nothing more.
 * Not yet authorised means: accepted, its TLS handshake and HELLO not yet granted; such a connection
 * also has {@link PeerTransportOptions#handshakeTimeout()} to get there, and frames of at most
 * {@link io.vmmig.strategy.peer.FrameDecoder#PRE_AUTH_MAX_FRAME} bytes.
 *
 * @param maxConnections         connections open at once, authorised or not
 * @param maxUnauthorised        connections not yet authorised
 * @param maxUnauthorisedPerHost of those, from one remote address
 */
public record PeerListenerLimits(int maxConnections, int maxUnauthorised, int maxUnauthorisedPerHost) {
    /** Far above what migrations need (two or three connections each), far below what exhausts the agent. */
    public static final PeerListenerLimits DEFAULT = new PeerListenerLimits(512, 128, 32);

    public PeerListenerLimits {
        if (maxConnections < 1 || maxUnauthorised < 1 || maxUnauthorisedPerHost < 1
                || maxUnauthorised > maxConnections || maxUnauthorisedPerHost > maxUnauthorised)
            throw new IllegalArgumentException("bad peer listener limits " + maxConnections + "/" + maxUnauthorised + "/"
                    + maxUnauthorisedPerHost);
    }
}
