package io.vmmig.strategy;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pull's journal gives a restarted agent the queue as it was: installed chunks present, guest-claimed sectors kept. */
class PullJournalTest {
    private static final int SECTORS = 8;   // 4 KiB chunks of 512-byte sectors

    private static RemainingSet set(int chunks, int... missing) {
        BitSet b = new BitSet();
        int[] counts = new int[chunks];
        for (int c : missing) {
            b.set(c);
            counts[c] = c + 1;
        }
        return new RemainingSet(b, WriteCounts.of(counts));
    }

    @Test
    void aRestoredQueueKnowsWhatWasInstalledAndWhatTheGuestWrote(@TempDir Path dir) throws Exception {
        RemainingSet rs = set(10, 1, 3, 5, 7);
        PullQueue q = new PullQueue(rs);
        q.journalTo(PullJournal.create(dir, rs));
        // chunk 7 (hottest) pulled and installed
        PullQueue.Pull p = q.awaitNextNow();
        assertEquals(7, p.chunk());
        assertNotNull(q.pullArrivedSkipping(7));
        q.installed(7);
        // the guest writes sectors 0-2 of chunk 3, and all of chunk 1
        q.write(3, 0, 3, SECTORS).done(true);
        q.write(1, 0, SECTORS, SECTORS).done(true);
        q.journal().close();

        PullQueue r = PullJournal.restore(dir, SECTORS, SECTORS).orElseThrow();
        assertTrue(r.isPresent(7), "installed before the restart: not pulled again");
        assertTrue(r.isPresent(1), "written whole by the guest: not pulled");
        assertFalse(r.isPresent(3));
        assertFalse(r.isPresent(5));
        assertEquals(2, r.notPresentCount());
        assertEquals(4, r.handedOverCount());
        // chunk 5 is hotter than 3; when 3 comes, its guest-written sectors are skipped at install
        assertEquals(5, r.awaitNextNow().chunk());
        assertEquals(3, r.awaitNextNow().chunk());
        BitSet skip = r.pullArrivedSkipping(3);
        BitSet expected = new BitSet();
        expected.set(0, 3);
        assertEquals(expected, skip, "the guest's sectors survive the restart");
        assertNull(r.awaitNextNow(), "nothing else to pull");
        r.installed(3);
        r.journal().close();
        // the journal goes on: a second restart sees chunk 3 installed too
        PullQueue again = PullJournal.restore(dir, SECTORS, SECTORS).orElseThrow();
        assertTrue(again.isPresent(3));
        assertEquals(1, again.notPresentCount());
        again.journal().close();
    }

    @Test
    void aTornLastRecordIsIgnoredAndNoHandOverMeansNothingToRestore(@TempDir Path dir) throws Exception {
        assertTrue(PullJournal.restore(dir, SECTORS, SECTORS).isEmpty());
        RemainingSet rs = set(4, 0, 2);
        PullQueue q = new PullQueue(rs);
        q.journalTo(PullJournal.create(dir, rs));
        q.awaitNextNow();
        q.pullArrivedSkipping(2);
        q.installed(2);
        q.journal().close();
        Files.write(dir.resolve(PullJournal.JOURNAL), new byte[] {1, 0, 0}, java.nio.file.StandardOpenOption.APPEND);
        PullQueue r = PullJournal.restore(dir, SECTORS, SECTORS).orElseThrow();
        assertTrue(r.isPresent(2));
        assertFalse(r.isPresent(0));
        r.journal().close();
    }
}
