package io.vmmig.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationProgress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressDisplayTest {
    private static final long MIB = 1 << 20;
    private final CapturedOutput out = new CapturedOutput();
    private final AtomicLong clock = new AtomicLong();

    static ReceivedEvent received(ControlEvent e) {
        return new ReceivedEvent(ControlCodec.encode(e).getBytes(StandardCharsets.UTF_8), e);
    }

    static ControlEvent.Progress pushing(long elapsed, long pushedMib, long leftMib) {
        return new ControlEvent.Progress("m-1", MigrationPhase.PUSHING,
                new MigrationProgress(elapsed, 1024 * MIB, pushedMib * MIB, leftMib * MIB, 0, 0, 0, 0, 80 * MIB, 12));
    }

    @Test
    void progressLineBeforeAndAfterTheSwitchover() {
        MigrationProgress memory = new MigrationProgress(12_300, 1024 * MIB, 700 * MIB, 300 * MIB, 0,
                300 * MIB, 100 * MIB, 400 * MIB, 85 * MIB, 75);
        assertEquals("[  12.3s] memory    disk 700 MiB pushed, 300 MiB left | RAM 75% | 85.0 MiB/s | ETA 1:15",
                ProgressLine.format(MigrationPhase.MEMORY, memory));
        MigrationProgress pulling = new MigrationProgress(20_000, 1024 * MIB, 700 * MIB, 100 * MIB, 200 * MIB,
                400 * MIB, 0, 400 * MIB, 50 * MIB, -1);
        assertEquals("[  20.0s] pulling   disk 200 MiB pulled, 100 MiB left | 50.0 MiB/s | ETA ?",
                ProgressLine.format(MigrationPhase.PULLING, pulling));
        assertEquals("1:02:03", ProgressLine.duration(3723));
    }

    @Test
    void eachDiskOnItsOwnLineUnderTheTotals() {
        List<MigrationProgress.Disk> disks = List.of(new MigrationProgress.Disk("vda", 1024 * MIB, 600 * MIB, 0, 200 * MIB),
                new MigrationProgress.Disk("vdb", 512 * MIB, 100 * MIB, 0, 100 * MIB));
        MigrationProgress pushing = new MigrationProgress(5_000, 1536 * MIB, 700 * MIB, 300 * MIB, 0, 0, 0, 0, 85 * MIB, 4, disks);
        String nl = System.lineSeparator();
        assertEquals("[   5.0s] pushing   disk 700 MiB pushed, 300 MiB left | 85.0 MiB/s | ETA 0:04" + nl
                        + "           vda: 600 MiB pushed, 200 MiB left" + nl
                        + "           vdb: 100 MiB pushed, 100 MiB left",
                ProgressLine.format(MigrationPhase.PUSHING, pushing));
        MigrationProgress pulling = new MigrationProgress(9_000, 1536 * MIB, 700 * MIB, 30 * MIB, 70 * MIB, 0, 0, 0, 20 * MIB, 2,
                List.of(new MigrationProgress.Disk("vda", 1024 * MIB, 600 * MIB, 50 * MIB, 10 * MIB),
                        new MigrationProgress.Disk("vdb", 512 * MIB, 100 * MIB, 20 * MIB, 20 * MIB)));
        assertTrue(ProgressLine.format(MigrationPhase.PULLING, pulling).endsWith(
                "vda: 50.0 MiB pulled, 10.0 MiB left" + nl + "           vdb: 20.0 MiB pulled, 20.0 MiB left"),
                ProgressLine.format(MigrationPhase.PULLING, pulling));
    }

    @Test
    void eachEventTypeOnAPipe() {
        ProgressDisplay d = new ProgressDisplay(out.printStream(), false, clock::get);
        d.accept(received(new ControlEvent.Accepted("m-1", "vm1", "hostb:7410", "hybrid")));
        d.accept(received(new ControlEvent.PhaseChange("m-1", MigrationPhase.PUSHING, 1500)));
        d.accept(received(pushing(2000, 10, 990)));
        clock.addAndGet(400_000_000L);
        d.accept(received(pushing(2400, 20, 980)));
        clock.addAndGet(700_000_000L);
        d.accept(received(pushing(3100, 30, 970)));
        d.accept(received(new ControlEvent.Report("m-1", ControlCodec.tree(java.util.Map.of("downtimeMillis", 42)),
                "hybrid migration of vm1: 1.00 GiB in 9.1 s\ndowntime 42 ms\n")));
        d.finish();
        assertEquals(String.join("\n",
                "migration m-1: vm1 -> hostb:7410 (hybrid)",
                "[   1.5s] phase pushing: pushing the disk",
                "[   2.0s] pushing   disk 10.0 MiB pushed, 990 MiB left | 80.0 MiB/s | ETA 0:12",
                "[   3.1s] pushing   disk 30.0 MiB pushed, 970 MiB left | 80.0 MiB/s | ETA 0:12",
                "hybrid migration of vm1: 1.00 GiB in 9.1 s",
                "downtime 42 ms", ""), out.text(), "at most one progress line a second, summary last");
    }

    @Test
    void aTerminalRewritesOneLineInPlace() {
        ProgressDisplay d = new ProgressDisplay(out.printStream(), true, clock::get);
        d.accept(received(pushing(2000, 100, 900)));
        d.accept(received(pushing(2500, 0, 0)));
        d.accept(received(new ControlEvent.PhaseChange("m-1", MigrationPhase.PULLING, 3000)));
        d.accept(received(new ControlEvent.Failure("m-1", ErrorKind.FAILED, "destination went away")));
        String first = ProgressLine.format(MigrationPhase.PUSHING, pushing(2000, 100, 900).progress());
        String second = ProgressLine.format(MigrationPhase.PUSHING, pushing(2500, 0, 0).progress());
        assertTrue(first.length() > second.length());
        assertEquals("\r" + first + "\r" + second + " ".repeat(first.length() - second.length()) + "\n"
                + "[   3.0s] phase pulling: the guest runs at the destination and pulls what is left\n", out.text());
        assertFalse(out.text().contains("destination went away"), "failures go to stderr, from the command");
    }

    @Test
    void listAndStatusText() {
        var status = new io.vmmig.agent.control.MigrationStatus("m-1", "source", "vm1", "hostb:7410", "hybrid",
                MigrationPhase.PUSHING, "2026-11-22T06:00:00Z",
                new MigrationProgress(5000, 1024 * MIB, 256 * MIB, 768 * MIB, 0, 0, 0, 512 * MIB, 50 * MIB, 16), null);
        var failed = new io.vmmig.agent.control.MigrationStatus("m-2", "destination", "vm2", "10.0.0.1:53211", "precopy",
                MigrationPhase.FAILED, "2026-11-22T05:00:00Z", null, "no space");
        assertEquals(String.join("\n",
                "ID   ROLE         VM   PEER            STRATEGY  PHASE    DISK             STARTED",
                "m-1  source       vm1  hostb:7410      hybrid    pushing  25% of 1.00 GiB  2026-11-22T06:00:00Z",
                "m-2  destination  vm2  10.0.0.1:53211  precopy   failed   -                2026-11-22T05:00:00Z", ""),
                MigrationTable.table(java.util.List.of(status, failed)));
        assertEquals("no migrations\n", MigrationTable.table(java.util.List.of()));
        String detail = MigrationTable.detail(status);
        assertTrue(detail.contains("phase:     pushing (pushing the disk)\n"), detail);
        assertTrue(detail.contains("disk:      1.00 GiB: 256 MiB pushed, 0 B pulled, 768 MiB left\n"), detail);
        assertTrue(detail.contains("eta:       0:16\n"), detail);
        assertTrue(MigrationTable.detail(failed).contains("error:     no space\n"));
    }
}
