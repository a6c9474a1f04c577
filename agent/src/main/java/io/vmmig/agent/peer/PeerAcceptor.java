package io.vmmig.agent.peer;

import io.vmmig.strategy.peer.PeerChannel;

/** Receives the connections a {@link PeerServer} admitted, on the channel's delivery thread. */
@FunctionalInterface
public interface PeerAcceptor {
    /** The client was authorized for {@code migrationId}; call {@link PeerChannel#start} to receive its frames. */
    void accept(String migrationId, PeerChannel channel);

    /** Like {@link #accept(String, PeerChannel)}, with who the client is (its verified certificate subject). */
    default void accept(String migrationId, ClientIdentity client, PeerChannel channel) {
        accept(migrationId, channel);
    }
}
