package io.vmmig.agent.cli;

import static io.vmmig.agent.cli.InterruptDecision.Action.CANCEL;
import static io.vmmig.agent.cli.InterruptDecision.Action.CANCEL_WHEN_ACCEPTED;
import static io.vmmig.agent.cli.InterruptDecision.Action.DETACH;
import static io.vmmig.agent.cli.InterruptDecision.Action.STOP_WAITING;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vmmig.agent.control.MigrationPhase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class InterruptDecisionTest {

    @ParameterizedTest
    @EnumSource(value = MigrationPhase.class, names = {"PREPARING", "PUSHING", "MEMORY", "CUTOVER"})
    void beforeTheSwitchoverCancels(MigrationPhase phase) {
        assertEquals(CANCEL, InterruptDecision.decide("m-1", phase, false));
    }

    @ParameterizedTest
    @EnumSource(value = MigrationPhase.class, names = {"PULLING", "FINISHING", "COMPLETED"})
    void afterTheSwitchoverDetaches(MigrationPhase phase) {
        assertEquals(DETACH, InterruptDecision.decide("m-1", phase, false));
        assertEquals(DETACH, InterruptDecision.decide("m-1", phase, true), "a cancel that lost the race still detaches");
    }

    @Test
    void acceptedButNoPhaseYetCancels() {
        assertEquals(CANCEL, InterruptDecision.decide("m-1", null, false));
    }

    @Test
    void beforeTheIdIsKnownCancelsWhenAccepted() {
        assertEquals(CANCEL_WHEN_ACCEPTED, InterruptDecision.decide(null, null, false));
    }

    @Test
    void secondCtrlCStopsWaiting() {
        assertEquals(STOP_WAITING, InterruptDecision.decide("m-1", MigrationPhase.PUSHING, true));
        assertEquals(STOP_WAITING, InterruptDecision.decide(null, null, true));
    }
}
