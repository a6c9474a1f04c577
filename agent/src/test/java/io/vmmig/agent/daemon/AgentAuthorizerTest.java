package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.peer.Authorization;
import io.vmmig.agent.peer.ClientIdentity;
import io.vmmig.agent.peer.TokenIssuer;
import java.time.Duration;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;

class AgentAuthorizerTest {
    private static final ClientIdentity SOURCE_A = new ClientIdentity("10.0.0.1:40000", new X500Principal("CN=source-a"));
    private static final ClientIdentity SOURCE_B = new ClientIdentity("10.0.0.2:40000", new X500Principal("CN=source-b"));
    private final TokenIssuer tokens = new TokenIssuer();
    private final AgentAuthorizer authorizer = new AgentAuthorizer(tokens);

    @Test
    void controlConnectionNeedsOnlyTheTransportsCheck() {
        assertTrue(AgentAuthorizer.isControl("", new byte[0]));
        assertFalse(AgentAuthorizer.isControl("m-1", new byte[0]));
        assertFalse(AgentAuthorizer.isControl("", new byte[] {1}));
        assertInstanceOf(Authorization.Granted.class, authorizer.authorize("", new byte[0], SOURCE_A));
    }

    @Test
    void tokenWithoutMigrationIsRefused() {
        byte[] token = tokens.issue("m-1", SOURCE_A.subject(), Duration.ofMinutes(1));
        Authorization a = authorizer.authorize("", token, SOURCE_A);
        assertEquals(new Authorization.Refused("a token without a migration id"), a);
    }

    @Test
    void dataConnectionNeedsTheMigrationsTokenFromItsClient() {
        byte[] token = tokens.issue("m-1", SOURCE_A.subject(), Duration.ofMinutes(1));
        assertInstanceOf(Authorization.Granted.class, authorizer.authorize("m-1", token, SOURCE_A));
        Authorization.Refused other = assertInstanceOf(Authorization.Refused.class, authorizer.authorize("m-1", token, SOURCE_B));
        assertTrue(other.reason().contains("issued to CN=source-a"), other.reason());
        Authorization.Refused empty = assertInstanceOf(Authorization.Refused.class, authorizer.authorize("m-1", new byte[0], SOURCE_A));
        assertTrue(empty.reason().contains("token not recognised for migration m-1"), empty.reason());
        tokens.revoke("m-1");
        assertInstanceOf(Authorization.Refused.class, authorizer.authorize("m-1", token, SOURCE_A));
    }
}
