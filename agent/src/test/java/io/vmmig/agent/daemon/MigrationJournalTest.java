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

    private static MigrationRecord finished(MigrationRegistry registry, String id) throws AgentException {
        MigrationRecord r = new MigrationRecord(id, "source", "web1", "dst:7410", "hybrid");
        registry.add(r);
        r.phase(MigrationPhase.PUSHING);
        r.fail(ErrorKind.CANCELLED, "cancelled by the operator", GuestLocation.of("running", null));
        return r;
    }

    /** Rewrites the entry of {@code id} as if it had ended {@code ago} before now. */
    private static void endedAgo(Path journal, String id, java.time.Duration ago) throws Exception {
        Path f = journal.resolve(id + ".json");
        MigrationJournal.Entry e = io.vmmig.agent.control.ControlCodec.mapper().readValue(Files.readString(f), MigrationJournal.Entry.class);
        assertNotNull(e.endedAt(), "the journal writes when a migration ended: " + Files.readString(f));
        Files.writeString(f, io.vmmig.agent.control.ControlCodec.mapper().writeValueAsString(
                new MigrationJournal.Entry(e.status(), e.facts(), java.time.Instant.now().minus(ago).toString())));
    }

    @Test
    void finishedMigrationsBeyondTheRetentionArePrunedAndThoseInFlightNever() throws Exception {
        Path dir = this.dir.resolve("journal");
        MigrationJournal journal = new MigrationJournal(dir);
        MigrationRegistry registry = new MigrationRegistry(r -> { }, journal);
        List<String> told = new ArrayList<>();
        journal.retain(new io.vmmig.agent.config.JournalRetention(2, java.time.Duration.ofDays(30)), e -> {
            told.add(e.status().id());
            registry.forget(e.status().id());
        });
        MigrationRecord old = new MigrationRecord("m-00000001", "destination", "web0", "10.0.0.1:5000", "hybrid");
        registry.add(old);
        old.phase(MigrationPhase.MEMORY);   // in flight, and older than everything else
        for (String id : List.of("m-00000002", "m-00000003", "m-00000004")) finished(registry, id);
        // the third finished one pushed the first out: 2 finished kept, the one in flight kept
        assertEquals(List.of("m-00000002"), told);
        assertEquals(List.of("m-00000001", "m-00000003", "m-00000004"),
                new MigrationJournal(dir).load().stream().map(e -> e.status().id()).toList());
        assertEquals(List.of("m-00000001", "m-00000003", "m-00000004"), registry.all().stream().map(MigrationRecord::id).toList(),
                "a pruned record is forgotten in memory too");

        // by age: one that ended 31 days ago goes at the next start, however few there are
        endedAgo(dir, "m-00000003", java.time.Duration.ofDays(31));
        MigrationJournal restarted = new MigrationJournal(dir);
        restarted.retain(new io.vmmig.agent.config.JournalRetention(100, java.time.Duration.ofDays(30)), e -> { });
        assertEquals(List.of("m-00000003"), restarted.prune(java.time.Instant.now()).stream().map(e -> e.status().id()).toList());
        List<MigrationJournal.Entry> left = restarted.load();
        assertEquals(List.of("m-00000001", "m-00000004"), left.stream().map(e -> e.status().id()).toList());
        assertEquals(MigrationPhase.MEMORY, left.get(0).status().phase(), "the one in flight survives, as it was");
    }

    @Test
    void aRestartedAgentSavingItsRecordsAgainKeepsWhenTheyEnded() throws Exception {
        Path dir = this.dir.resolve("journal");
        finished(new MigrationRegistry(r -> { }, new MigrationJournal(dir)), "m-0000000e");
        endedAgo(dir, "m-0000000e", java.time.Duration.ofDays(3));
        String endedAt = new MigrationJournal(dir).load().get(0).endedAt();
        // what a restart does: the entry comes back as a record, which is journalled (saved) again
        MigrationJournal again = new MigrationJournal(dir);
        new MigrationRegistry(r -> { }, again).add(MigrationRecord.restored(again.load().get(0)));
        assertEquals(endedAt, new MigrationJournal(dir).load().get(0).endedAt());
    }
}
