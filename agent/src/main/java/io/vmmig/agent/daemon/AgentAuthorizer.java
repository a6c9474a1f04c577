package io.vmmig.agent.daemon;

import io.vmmig.agent.peer.Authorization;
import io.vmmig.agent.peer.ClientIdentity;
import io.vmmig.agent.peer.MigrationAuthorizer;
import io.vmmig.agent.peer.TokenIssuer;

/**
 * Who may open a peer connection to this agent: a control connection (empty migration id and token)
 * needs only what the transport checked (a certificate from the CA, in the allow-list); a migration's
 * data connection needs the token this agent issued for it at prepare.
 */
final class AgentAuthorizer implements MigrationAuthorizer {
    private final TokenIssuer tokens;

    AgentAuthorizer(TokenIssuer tokens) {
        this.tokens = tokens;
    }

    static boolean isControl(String migrationId, byte[] token) {
        return migrationId.isEmpty() && token.length == 0;
    }

    @Override
    public Authorization authorize(String migrationId, byte[] token, ClientIdentity client) {
        if (isControl(migrationId, token)) return Authorization.granted();
        if (migrationId.isEmpty()) return Authorization.refused("a token without a migration id");
        if (!io.vmmig.agent.session.PeerValues.isMigrationId(migrationId))
            return Authorization.refused("'" + migrationId.substring(0, Math.min(64, migrationId.length())).replaceAll("\\p{Cntrl}", "?")
                    + "' is not a migration id");
        return tokens.authorize(migrationId, token, client);
    }
}
