package io.vmmig.agent.control;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * What the agent answers on its control socket: JSON lines, each with an {@code event} field naming the
 * type. A {@code migrate} or {@code watch} stream ends with exactly one {@link Report} or {@link Failure}.
 * This is also what {@code vmmig migrate --json} prints, one event per line.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "event")
@JsonSubTypes({
        @JsonSubTypes.Type(value = ControlEvent.Accepted.class, name = "accepted"),
        @JsonSubTypes.Type(value = ControlEvent.PhaseChange.class, name = "phase"),
        @JsonSubTypes.Type(value = ControlEvent.Progress.class, name = "progress"),
        @JsonSubTypes.Type(value = ControlEvent.Report.class, name = "report"),
        @JsonSubTypes.Type(value = ControlEvent.Failure.class, name = "error"),
        @JsonSubTypes.Type(value = ControlEvent.Status.class, name = "status"),
        @JsonSubTypes.Type(value = ControlEvent.Listing.class, name = "list"),
        @JsonSubTypes.Type(value = ControlEvent.Cancelling.class, name = "cancelling")})
@JsonInclude(JsonInclude.Include.NON_NULL)
public sealed interface ControlEvent {

    /** The agent took the migration: its id. */
    record Accepted(String id, String vm, String dest, String strategy) implements ControlEvent {}

    /** The migration entered a phase. */
    record PhaseChange(String id, MigrationPhase phase, long elapsedMillis) implements ControlEvent {}

    /** A progress sample (about twice a second while data moves), with where the guest runs (QEMU's run state). */
    record Progress(String id, MigrationPhase phase, MigrationProgress progress, GuestLocation guest) implements ControlEvent {
        public Progress(String id, MigrationPhase phase, MigrationProgress progress) {
            this(id, phase, progress, null);
        }
    }

    /**
     * The migration completed: the engine's {@code MigrationReport} as JSON, and its one-screen summary.
     */
    record Report(String id, JsonNode report, String summary) implements ControlEvent {}

    /**
     * The request or the migration failed. {@code id} is null when no migration was created;
     * {@code guest} says where the guest runs (from QEMU's run state) when a migration failed.
     */
    record Failure(String id, ErrorKind kind, String message, GuestLocation guest) implements ControlEvent {
        public Failure(String id, ErrorKind kind, String message) {
            this(id, kind, message, null);
        }
    }

    /** Answer to {@code status}. */
    record Status(MigrationStatus migration) implements ControlEvent {}

    /** Answer to {@code list}. */
    record Listing(List<MigrationStatus> migrations) implements ControlEvent {}

    /** Answer to {@code cancel}: the cancellation was requested (the migration's stream ends with CANCELLED). */
    record Cancelling(String id) implements ControlEvent {}

    /** Whether this event ends a stream. */
    default boolean terminal() {
        return this instanceof Report || this instanceof Failure || this instanceof Status || this instanceof Listing
                || this instanceof Cancelling;
    }
}
