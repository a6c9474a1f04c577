package io.vmmig.agent.cli;

import io.vmmig.agent.control.MigrationPhase;

/**
 * What Ctrl-C during {@code vmmig migrate} does, from what the client saw of the migration so far: before
 * the switchover the guest still runs at the source, so the migration is cancelled; after it the guest runs
 * at the destination and the migration can only finish forward, so the client detaches and the agent
 * finishes it.
 */
public final class InterruptDecision {

    /** What to do. */
    public enum Action {
        /** Send {@code cancel} for the migration, then read its stream to its end. */
        CANCEL,
        /** The agent has not said the migration's id yet: cancel it as soon as it does. */
        CANCEL_WHEN_ACCEPTED,
        /** Stop reading; the migration goes on in the agent. */
        DETACH,
        /** The cancellation was already asked for (a second Ctrl-C): stop waiting for its end. */
        STOP_WAITING
    }

    private InterruptDecision() {
    }

    /**
     * @param migrationId     the id from the Accepted event, null if none came yet
     * @param lastPhase       the latest phase seen (phase change or progress), null if none
     * @param cancelRequested whether an earlier Ctrl-C already asked for the cancellation
     */
    public static Action decide(String migrationId, MigrationPhase lastPhase, boolean cancelRequested) {
        if (lastPhase != null && lastPhase.switchedOver()) return Action.DETACH;
        if (cancelRequested) return Action.STOP_WAITING;
        if (migrationId == null) return Action.CANCEL_WHEN_ACCEPTED;
        return Action.CANCEL;
    }
}
