package io.vmmig.agent.control;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.agent.control.GuestLocation.Host;
import io.vmmig.agent.control.GuestLocation.State;
import org.junit.jupiter.api.Test;

class GuestLocationTest {

    @Test
    void aRunningQemuIsWhereTheGuestRuns() {
        GuestLocation src = GuestLocation.of("running", null);
        assertEquals(new GuestLocation(Host.SOURCE, State.RUNNING, "source QEMU: running"), src);
        assertEquals("the guest runs at the source (source QEMU: running)", src.describe());
        GuestLocation dst = GuestLocation.of("postmigrate", "running");
        assertEquals(Host.DESTINATION, dst.host());
        assertEquals(State.RUNNING, dst.state());
        assertEquals("the guest runs at the destination (source QEMU: postmigrate, destination QEMU: running)", dst.describe());
        assertEquals(Host.DESTINATION, GuestLocation.of("gone", "running").host());
    }

    @Test
    void runningAtBothEndsOrNeitherNeedsTheOperator() {
        GuestLocation both = GuestLocation.of("running", "running");
        assertEquals(Host.UNKNOWN, both.host());
        assertEquals(State.NEEDS_OPERATOR, both.state());
        assertTrue(both.describe().contains("both ends"), both.describe());
        GuestLocation none = GuestLocation.of("gone", "inmigrate");
        assertEquals(State.NEEDS_OPERATOR, none.state());
        assertEquals(State.NEEDS_OPERATOR, GuestLocation.of("gone", null).state());
    }

    @Test
    void aPausedSourceIsSaidPausedNeverRunning() {
        GuestLocation p = GuestLocation.of("paused", "inmigrate");
        assertEquals(new GuestLocation(Host.SOURCE, State.PAUSED, "source QEMU: paused, destination QEMU: inmigrate"), p);
        assertTrue(p.describe().contains("PAUSED at the source"), p.describe());
        assertEquals(State.PAUSED, GuestLocation.of("finish-migrate", null).state());
    }

    @Test
    void aSourceInPostmigrateHandedTheGuestOverEvenWhenTheDestinationIsNotKnown() {
        GuestLocation g = GuestLocation.of("postmigrate", null);
        assertEquals(Host.DESTINATION, g.host());
        assertEquals(State.NEEDS_OPERATOR, g.state());
        assertFalse(g.describe().contains("source ("), "never says the guest is at the source: " + g.describe());
    }

    @Test
    void theDestinationsViewOfAGuestThatNeverArrived() {
        GuestLocation g = GuestLocation.neverArrived("inmigrate");
        assertEquals(Host.SOURCE, g.host());
        assertTrue(g.evidence().contains("destination QEMU: inmigrate"), g.evidence());
    }

    @Test
    void itTravelsInTheJsonEventsAndTheStatus() {
        GuestLocation g = GuestLocation.of("running", null);
        ControlEvent.Failure f = new ControlEvent.Failure("m-1", ErrorKind.FAILED, "boom; " + g.describe(), g);
        String line = ControlCodec.encode(f);
        assertTrue(line.contains("\"guest\":{\"host\":\"SOURCE\",\"state\":\"RUNNING\",\"evidence\":\"source QEMU: running\"}"), line);
        assertEquals(f, ControlCodec.decodeEvent(line));
        ControlEvent.Progress p = new ControlEvent.Progress("m-1", MigrationPhase.PULLING, null, GuestLocation.of("postmigrate", "running"));
        String progress = ControlCodec.encode(p);
        assertTrue(progress.contains("\"guest\":{\"host\":\"DESTINATION\",\"state\":\"RUNNING\""), progress);
        assertEquals(p, ControlCodec.decodeEvent(progress));
    }
}
