package io.vmmig.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The guest's {@code HB <seq> <guest-ms>} lines, merged across consoles (a migrating guest prints first on
 * the source's console, then on the destination's) to find the longest guest-visible silence.
 */
public final class Heartbeats {
    private static final Pattern HB = Pattern.compile("^HB (\\d+) (\\d+)$");

    private final List<Heartbeat> beats;

    private Heartbeats(List<Heartbeat> beats) {
        this.beats = beats;
    }

    /**
     * One heartbeat.
     *
     * @param seq     the guest's counter (continues across a migration: it lives in guest RAM)
     * @param guestMs the guest's CLOCK_MONOTONIC in ms
     * @param line    the console line, with the host arrival time
     */
    public record Heartbeat(long seq, long guestMs, ConsoleLine line) {
    }

    /**
     * The silence between two consecutive heartbeats.
     *
     * @param before the last heartbeat before the gap
     * @param after  the first one after it
     */
    public record Gap(Heartbeat before, Heartbeat after) {
        /** Host time between the two lines' arrival. */
        public Duration host() {
            return Duration.ofNanos(after.line().nanoTime() - before.line().nanoTime());
        }

        /** Guest clock advance between the two heartbeats. */
        public Duration guest() {
            return Duration.ofMillis(after.guestMs() - before.guestMs());
        }
    }

    /**
     * Parses the heartbeats of several consoles' lines, de-duplicated by sequence number (first arrival
     * wins) and ordered by sequence number. Other lines are ignored.
     */
    @SafeVarargs
    public static Heartbeats of(Collection<ConsoleLine>... consoles) {
        Map<Long, Heartbeat> bySeq = new TreeMap<>();
        for (Collection<ConsoleLine> lines : consoles) {
            for (ConsoleLine line : lines) {
                Matcher m = HB.matcher(line.text());
                if (m.matches()) {
                    Heartbeat hb = new Heartbeat(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), line);
                    bySeq.merge(hb.seq(), hb, (a, b) -> a.line().nanoTime() <= b.line().nanoTime() ? a : b);
                }
            }
        }
        return new Heartbeats(List.copyOf(bySeq.values()));
    }

    /** All heartbeats in sequence order. */
    public List<Heartbeat> all() {
        return beats;
    }

    /** Consecutive pairs, in sequence order. */
    public List<Gap> gaps() {
        List<Gap> gaps = new ArrayList<>();
        for (int i = 1; i < beats.size(); i++) {
            gaps.add(new Gap(beats.get(i - 1), beats.get(i)));
        }
        return gaps;
    }

    /** The gap with the longest host-time silence, if there are at least two heartbeats. */
    public Optional<Gap> longestHostGap() {
        return gaps().stream().max(Comparator.comparing(Gap::host));
    }

    /** The gaps where the console changes (source to destination: a migration's switchover), in order. */
    public List<Gap> consoleChanges() {
        return gaps().stream().filter(g -> !g.before().line().source().equals(g.after().line().source())).toList();
    }

    /** Heartbeat sequence numbers missing between the first and the last one seen. */
    public long missing() {
        if (beats.isEmpty()) {
            return 0;
        }
        return beats.get(beats.size() - 1).seq() - beats.get(0).seq() + 1 - beats.size();
    }
}
