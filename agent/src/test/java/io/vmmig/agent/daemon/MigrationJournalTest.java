package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.GuestLocation;
import io.vmmig.agent.control.MigrationPhase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MigrationJournalTest {
    @TempDir Path dir;

    @Test
    void recordsSurviveARestartWithTheirPhaseOutcomeAndFacts() throws Exception {
        MigrationJournal journal = new MigrationJournal(dir.resolve("journal"));
        MigrationRegistry registry = new MigrationRegistry(r -> { }, journal);
        MigrationRecord done = new MigrationRecord("m-0000000a", "source", "web1", "dst:7410", "mirror-wb");
        MigrationRecord inFlight = new MigrationRecord("m-0000000b", "destination", "web2", "10.0.0.1:5000", "hybrid");
        registry.add(done);
        registry.add(inFlight);
        done.fact(MigrationJournal.QMP_SOCKET, "/run/vms/web1/qmp.sock");
        done.phase(MigrationPhase.PUSHING);
        done.fail(ErrorKind.NO_SPACE, "no room at the destination", GuestLocation.of("running", null));
        inFlight.fact(MigrationJournal.IMAGE, "/srv/images/web2.qcow2");
        inFlight.phase(MigrationPhase.MEMORY);

        // a new agent process: a fresh journal object over the same directory
        List<MigrationJournal.Entry> entries = new MigrationJournal(dir.resolve("journal")).load();
        assertEquals(List.of("m-0000000a", "m-0000000b"), entries.stream().map(e -> e.status().id()).toList());
        MigrationRecord a = MigrationRecord.restored(entries.get(0));
        assertEquals(MigrationPhase.FAILED, a.phase());
        assertEquals("mirror-wb", a.status().strategy());
        assertEquals("/run/vms/web1/qmp.sock", a.fact(MigrationJournal.QMP_SOCKET));
        assertEquals("no room at the destination; the guest runs at the source (source QEMU: running)", a.status().error());
        assertEquals(GuestLocation.Host.SOURCE, a.status().guest().host());
        List<ControlEvent> seen = new ArrayList<>();
        a.watch(seen::add).close();
        assertTrue(seen.get(seen.size() - 1) instanceof ControlEvent.Failure f && f.kind() == ErrorKind.FAILED, "a watcher sees the end: " + seen);
        MigrationRecord b = MigrationRecord.restored(entries.get(1));
        assertEquals(MigrationPhase.MEMORY, b.phase());
        assertEquals("destination", b.role());
        assertEquals("/srv/images/web2.qcow2", b.fact(MigrationJournal.IMAGE));
        assertFalse(Files.exists(dir.resolve("journal/m-0000000b.json.tmp")), "written by rename");
    }

    @Test
    void aMigrationPastTheSwitchoverIsNeverReportedCancelled() {
        MigrationRecord r = new MigrationRecord("m-0000000c", "source", "web1", "dst:7410", "hybrid");
        r.phase(MigrationPhase.PULLING);
        r.fail(ErrorKind.CANCELLED, "the source went away", GuestLocation.of("postmigrate", "running"));
        assertEquals(MigrationPhase.FAILED, r.phase());
        assertTrue(r.status().error().endsWith("the guest runs at the destination (source QEMU: postmigrate, destination QEMU: running)"),
                r.status().error());
    }

    @Test
    void anUnreadableEntryIsSkipped() throws Exception {
        Files.createDirectories(dir.resolve("journal"));
        Files.writeString(dir.resolve("journal/m-0000000d.json"), "{not json");
        assertEquals(List.of(), new MigrationJournal(dir.resolve("journal")).load());
    }
}
