package io.vmmig.testkit.net;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * What an outside probe saw: the answered probes in the order they came back, and the probe interval.
 * The downtime from outside is the {@link #longestGap() longest gap} between two consecutive answers
 * (about one interval when nothing is lost).
 */
public record ProbeRecord(List<Reply> replies, Duration interval) {
    /** One answered probe: its sequence number (from 0, one per interval), when it left and when its echo came back. */
    public record Reply(long seq, Instant sent, Instant received) {}

    /** Two consecutive answers and what lies between them. */
    public record Gap(Reply before, Reply after) {
        /** Between the two answers' arrivals. */
        public Duration duration() {
            return Duration.between(before.received(), after.received());
        }

        /** Probes sent between the two that got no answer (or one out of order). */
        public long unanswered() {
            return Math.max(0, after.seq() - before.seq() - 1);
        }
    }

    public ProbeRecord {
        List<Reply> sorted = new ArrayList<>(replies);
        sorted.sort(Comparator.comparing(Reply::received).thenComparingLong(Reply::seq));
        replies = List.copyOf(sorted);
    }

    /** The longest gap between consecutive answers; empty with fewer than two. */
    public Optional<Gap> longestGap() {
        return longestGapWithin(Instant.MIN, Instant.MAX);
    }

    /** The longest gap between consecutive answers both received within [from, to]. */
    public Optional<Gap> longestGapWithin(Instant from, Instant to) {
        Gap best = null;
        for (int i = 1; i < replies.size(); i++) {
            Reply a = replies.get(i - 1);
            Reply b = replies.get(i);
            if (a.received().isBefore(from) || b.received().isAfter(to)) continue;
            Gap g = new Gap(a, b);
            if (best == null || g.duration().compareTo(best.duration()) > 0) best = g;
        }
        return Optional.ofNullable(best);
    }

    /** Answers that came back after {@code t}. */
    public long answeredAfter(Instant t) {
        return replies.stream().filter(r -> r.received().isAfter(t)).count();
    }

    /** Answers that came back before {@code t}. */
    public long answeredBefore(Instant t) {
        return replies.stream().filter(r -> r.received().isBefore(t)).count();
    }

    /** Probes sent up to the last answered one (sequence numbers start at 0). */
    public long sentUpToLastAnswer() {
        return replies.stream().mapToLong(Reply::seq).max().orElse(-1) + 1;
    }

    /** One line: answers, probes, interval and the longest gap. */
    public String summary() {
        Optional<Gap> g = longestGap();
        return "outside probe: " + replies.size() + " of " + sentUpToLastAnswer() + " probes answered, every "
                + interval.toMillis() + " ms; longest gap between answers "
                + g.map(x -> x.duration().toMillis() + " ms (" + x.unanswered() + " unanswered, probes " + x.before().seq()
                        + ".." + x.after().seq() + ")").orElse("n/a");
    }
}
