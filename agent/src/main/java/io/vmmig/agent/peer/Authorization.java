package io.vmmig.agent.peer;

/** A {@link MigrationAuthorizer}'s verdict on a HELLO. */
public sealed interface Authorization {
    /** The client may carry on with this migration. */
    record Granted() implements Authorization { }

    /** The client is refused; {@code reason} goes back to it in the ERROR frame. */
    record Refused(String reason) implements Authorization { }

    static Authorization granted() { return new Granted(); }

    static Authorization refused(String reason) { return new Refused(reason); }
}
