package io.vmmig.qmp;

import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;

/** Selects the events a {@link QmpEventListener} receives, e.g. {@code named("JOB_STATUS_CHANGE").andData("id", "job0")}. */
@FunctionalInterface
public interface EventFilter extends Predicate<QmpEvent> {
    /** Every event. */
    static EventFilter any() {
        return e -> true;
    }

    /** Events with one of these names. */
    static EventFilter named(String... names) {
        Set<String> set = Set.copyOf(Arrays.asList(names));
        return e -> set.contains(e.name());
    }

    /** Events whose top-level data member {@code field} has the text {@code value}. */
    static EventFilter dataEquals(String field, String value) {
        Objects.requireNonNull(value, "value");
        return e -> value.equals(e.dataText(field));
    }

    /** {@code JOB_STATUS_CHANGE} events of one job. */
    static EventFilter jobStatus(String jobId) {
        return named("JOB_STATUS_CHANGE").andData("id", jobId);
    }

    /** This filter and a data member equality. */
    default EventFilter andData(String field, String value) {
        return andAlso(dataEquals(field, value));
    }

    /** Both filters. */
    default EventFilter andAlso(Predicate<QmpEvent> other) {
        return e -> test(e) && other.test(e);
    }
}
