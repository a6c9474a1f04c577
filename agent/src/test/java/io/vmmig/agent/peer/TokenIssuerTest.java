package io.vmmig.agent.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.Arrays;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.Test;

class TokenIssuerTest {
    private static final X500Principal A = new X500Principal("CN=source-a");
    private static final X500Principal B = new X500Principal("CN=source-b");
    private final ManualClock clock = new ManualClock();
    private final TokenIssuer issuer = new TokenIssuer(clock);

    private Authorization check(String migration, byte[] token, X500Principal subject) {
        return issuer.authorize(migration, token, new ClientIdentity("10.0.0.1:5000", subject));
    }

    private static String refusal(Authorization a) {
        return assertInstanceOf(Authorization.Refused.class, a).reason();
    }

    @Test
    void grantsTheTokenItIssuedToThatClientForThatMigration() {
        byte[] token = issuer.issue("m1", A, Duration.ofMinutes(5));
        assertEquals(32, token.length);
        assertInstanceOf(Authorization.Granted.class, check("m1", token, A));
        // subject compared as a name, not as a string
        assertInstanceOf(Authorization.Granted.class, check("m1", token, new X500Principal("cn=source-a")));
    }

    @Test
    void aRestoredTokenIsGrantedAgainUntilItsExpiryAndRevokedWithItsMigration() {
        byte[] token = issuer.issue("m1", null, Duration.ofDays(365));
        java.time.Instant expiry = issuer.expiryOf("m1", token).orElseThrow();
        TokenIssuer restarted = new TokenIssuer(clock);   // the agent after a restart, from its state dir
        restarted.restore("m1", null, expiry, token);
        assertInstanceOf(Authorization.Granted.class, restarted.authorize("m1", token, new ClientIdentity("10.0.0.2:1", B)));
        assertInstanceOf(Authorization.Refused.class, restarted.authorize("m2", token, new ClientIdentity("10.0.0.2:1", B)));
        restarted.revoke("m1");
        assertInstanceOf(Authorization.Refused.class, restarted.authorize("m1", token, new ClientIdentity("10.0.0.2:1", B)));
        assertThrows(IllegalArgumentException.class, () -> restarted.restore("m1", null, expiry, new byte[3]));
    }

    @Test
    void tokensAreRandomAndDistinct() {
        byte[] t1 = issuer.issue("m1", A, Duration.ofMinutes(5));
        byte[] t2 = issuer.issue("m1", A, Duration.ofMinutes(5));
        assertFalse(Arrays.equals(t1, t2));
    }

    @Test
    void refusesAnExpiredToken() {
        byte[] token = issuer.issue("m1", A, Duration.ofMinutes(5));
        clock.advance(Duration.ofMinutes(5));
        assertEquals("token for migration m1 expired at 2026-01-01T00:05:00Z", refusal(check("m1", token, A)));
    }

    @Test
    void refusesATokenOfAnotherMigration() {
        byte[] token = issuer.issue("m1", A, Duration.ofMinutes(5));
        issuer.issue("m2", A, Duration.ofMinutes(5));
        assertEquals("token was issued for another migration, not m2", refusal(check("m2", token, A)));
    }

    @Test
    void refusesGarbageAndAnEmptyToken() {
        issuer.issue("m1", A, Duration.ofMinutes(5));
        assertEquals("token not recognised for migration m1", refusal(check("m1", new byte[32], A)));
        assertEquals("token not recognised for migration m1", refusal(check("m1", new byte[0], A)));
    }

    @Test
    void refusesATokenPresentedByAnotherClient() {
        byte[] token = issuer.issue("m1", A, Duration.ofMinutes(5));
        assertEquals("token for migration m1 was issued to CN=source-a, presented by CN=source-b",
                refusal(check("m1", token, B)));
        assertEquals("token for migration m1 was issued to CN=source-a, presented by a client without a certificate",
                refusal(check("m1", token, null)));
    }

    @Test
    void revokedTokensAreRefused() {
        byte[] token = issuer.issue("m1", A, Duration.ofMinutes(5));
        issuer.revoke("m1");
        assertEquals("token not recognised for migration m1", refusal(check("m1", token, A)));
    }

    @Test
    void lifetimeMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> issuer.issue("m1", A, Duration.ZERO));
    }
}
