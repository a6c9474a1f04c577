package io.vmmig.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The harness does what migration tests need: the guest keeps writing across a QEMU live migration (memory
 * only: both QEMUs open the same image, the plain same-host case), its heartbeats continue on the
 * destination's console, the merged heartbeats give the guest-visible gap, and verify passes there.
 */
class MigrationHeartbeatTest {
    @TempDir
    Path tmp;

    @Test
    void guestMigratesAndTheHeartbeatGapIsMeasurable() throws Exception {
        TestGuest guest = TestGuest.get();
        Workload w = Workload.defaults().withBlocks(1024).withHotSet(0, 64).withRate(300);
        DiskImage disk = DiskImage.create(tmp.resolve("shared.qcow2"), DiskImage.Format.QCOW2, 16L << 20);
        Path migSocket = tmp.resolve("mig.sock");
        try (QemuProcess src = QemuProcess.builder().name("src").guest(guest, w).disk(disk).start();
             QemuProcess dst = QemuProcess.builder().name("dst").guest(guest, w).disk(disk).incomingDefer(true).start()) {
            src.console().awaitLine(Pattern.compile("^PREFILL DONE"), Duration.ofSeconds(90));
            ConsoleLine tput = src.console().awaitLine(Pattern.compile("^TPUT [1-9]"), Duration.ofSeconds(30));
            try (RawQmp sq = new RawQmp(src.qmpSocket()); RawQmp dq = new RawQmp(dst.qmpSocket())) {
                dq.execute("{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"unix:" + migSocket + "\"}}", Duration.ofSeconds(10));
                sq.execute("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:" + migSocket + "\"}}", Duration.ofSeconds(10));
                // the guest speaks on the destination once it runs there
                dst.console().awaitLine(Pattern.compile("^HB \\d+ \\d+$"), Duration.ofSeconds(120));
            }
            int mark = dst.console().lineCount();
            dst.console().send("verify");
            ConsoleLine ok = dst.console().awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofSeconds(30), mark);
            assertTrue(ok.text().startsWith("VERIFY OK 1024 unwritten=0 "), ok.text());

            Heartbeats hb = Heartbeats.of(src.console().lines(), dst.console().lines());
            assertEquals(1, hb.consoleChanges().size(), "one switchover");
            Heartbeats.Gap gap = hb.consoleChanges().get(0);
            assertEquals("src", gap.before().line().source());
            assertEquals("dst", gap.after().line().source());
            // nothing lost; at most the one line the switchover may cut in two (half on each console)
            long cut = gap.after().seq() - gap.before().seq() - 1;
            assertTrue(cut == 0 || cut == 1, "heartbeats lost at the switchover: " + cut);
            assertEquals(cut, hb.missing(), "heartbeats lost elsewhere");
            assertTrue(gap.host().compareTo(Duration.ofMillis(20)) > 0 && gap.host().compareTo(Duration.ofSeconds(30)) < 0,
                    "switchover gap " + gap.host());
            assertTrue(hb.longestHostGap().orElseThrow().host().compareTo(gap.host()) >= 0);
            System.out.println("switchover gap: host " + gap.host().toMillis() + " ms, guest " + gap.guest().toMillis()
                    + " ms; writes before migration >= " + tput.text());
        }
    }
}
