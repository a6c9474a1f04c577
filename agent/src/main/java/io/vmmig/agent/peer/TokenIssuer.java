package io.vmmig.agent.peer;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.security.auth.x500.X500Principal;

/**
 * The destination's migration tokens: issued at prepare, 256 random bits each, bound to one migration
 * id and to the subject of the client certificate allowed to present it, valid until an expiry.
 * Tokens are compared in constant time. As a {@link MigrationAuthorizer} it admits a HELLO whose token
 * was issued for that migration and that client and has not expired.
 */
public final class TokenIssuer implements MigrationAuthorizer {
    /** Token length in bytes. */
    public static final int TOKEN_BYTES = 32;

    private record Grant(String migrationId, X500Principal subject, Instant expiry, byte[] token) { }

    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final List<Grant> grants = new ArrayList<>();

    public TokenIssuer(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public TokenIssuer() {
        this(Clock.systemUTC());
    }

    /**
     * Issues a token for {@code migrationId}, to be presented by the client whose certificate has
     * {@code clientSubject} (null: any client, for an insecure server only), valid for {@code ttl}.
     */
    public byte[] issue(String migrationId, X500Principal clientSubject, Duration ttl) {
        Objects.requireNonNull(migrationId, "migrationId");
        if (ttl.isNegative() || ttl.isZero()) throw new IllegalArgumentException("token lifetime must be positive: " + ttl);
        byte[] token = new byte[TOKEN_BYTES];
        random.nextBytes(token);
        synchronized (grants) {
            grants.add(new Grant(migrationId, clientSubject, clock.instant().plus(ttl), token.clone()));
        }
        return token;
    }

    /**
     * Admits again a token this agent issued before it restarted (kept in its state dir: a source's
     * resume token for a pull that outlives the agent process), until {@code expiry}.
     */
    public void restore(String migrationId, X500Principal clientSubject, Instant expiry, byte[] token) {
        Objects.requireNonNull(migrationId, "migrationId");
        if (token.length != TOKEN_BYTES) throw new IllegalArgumentException("a token has " + TOKEN_BYTES + " bytes, not " + token.length);
        synchronized (grants) {
            grants.add(new Grant(migrationId, clientSubject, expiry, token.clone()));
        }
    }

    /** When the token {@code token} of {@code migrationId} expires, if it is one of ours. */
    public java.util.Optional<Instant> expiryOf(String migrationId, byte[] token) {
        synchronized (grants) {
            for (Grant g : grants)
                if (g.migrationId.equals(migrationId) && MessageDigest.isEqual(g.token, token)) return java.util.Optional.of(g.expiry);
        }
        return java.util.Optional.empty();
    }

    /** Forgets every token of {@code migrationId} (the migration finished or was cancelled). */
    public void revoke(String migrationId) {
        synchronized (grants) {
            grants.removeIf(g -> g.migrationId.equals(migrationId));
        }
    }

    @Override
    public Authorization authorize(String migrationId, byte[] token, ClientIdentity client) {
        Grant match = null;
        synchronized (grants) {
            // every grant is compared, in constant time, whatever matched before
            for (Grant g : grants) {
                if (MessageDigest.isEqual(g.token, token) && match == null) match = g;
            }
        }
        if (match == null) return Authorization.refused("token not recognised for migration " + migrationId);
        if (!match.migrationId.equals(migrationId))
            return Authorization.refused("token was issued for another migration, not " + migrationId);
        if (!clock.instant().isBefore(match.expiry))
            return Authorization.refused("token for migration " + migrationId + " expired at " + match.expiry);
        if (match.subject != null && !match.subject.equals(client.subject()))
            return Authorization.refused("token for migration " + migrationId + " was issued to " + match.subject.getName()
                    + ", presented by " + (client.subject() == null ? "a client without a certificate" : client.subject().getName()));
        return Authorization.granted();
    }
}
