package io.vmmig.agent.config;

import java.time.Duration;

/**
 * How many finished migrations the agent keeps written down ({@code STATE_DIR/journal}, and what they
 * left in {@code STATE_DIR/m}), so that the state directory does not grow for ever: the newest
 * {@code keep} finished ones, and of those only the ones that ended within {@code maxAge}. A migration
 * in flight is always kept, whatever its age.
 *
 * @param keep   finished migrations kept ({@code journal.keep}, default 100)
 * @param maxAge finished migrations older than this are dropped ({@code journal.max-age-days}, default 30 days)
 */
public record JournalRetention(int keep, Duration maxAge) {
    public static final JournalRetention DEFAULT = new JournalRetention(100, Duration.ofDays(30));

    public JournalRetention {
        if (keep < 1) throw new IllegalArgumentException("journal.keep must be at least 1, got " + keep);
        if (maxAge == null || maxAge.isNegative() || maxAge.isZero())
            throw new IllegalArgumentException("journal.max-age-days must be positive, got " + maxAge);
    }
}
