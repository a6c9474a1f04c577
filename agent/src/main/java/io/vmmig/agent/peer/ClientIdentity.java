package io.vmmig.agent.peer;

import javax.security.auth.x500.X500Principal;

/**
 * Who opened a connection to the peer server.
 *
 * @param remote  the client's address, for messages
 * @param subject the subject of the client's verified certificate; null on an insecure (plain TCP) server
 */
public record ClientIdentity(String remote, X500Principal subject) {
    public String describe() {
        return subject == null ? remote + " (no certificate)" : subject.getName() + " at " + remote;
    }
}
