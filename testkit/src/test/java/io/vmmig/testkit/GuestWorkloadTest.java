package io.vmmig.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.testkit.Workload.Phase;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Boots the real test guest under real QEMU and checks its integrity workload end to end. */
class GuestWorkloadTest {
    private static final Duration BOOT = Duration.ofSeconds(90);
    private static final Duration STEP = Duration.ofSeconds(30);
    private static final long MIB = 1024 * 1024;

    @TempDir
    Path tmp;

    private static TestGuest guest;

    @BeforeAll
    static void buildGuest() {
        guest = TestGuest.get();
    }

    private static Pattern p(String regex) {
        return Pattern.compile(regex);
    }

    @Test
    void writesThenVerifiesEveryBlockItWrote() throws Exception {
        Workload w = Workload.defaults().withBlocks(2048).withHotSet(0, 128).withRate(500);
        DiskImage disk = DiskImage.create(tmp.resolve("disk.qcow2"), DiskImage.Format.QCOW2, 64 * MIB);
        try (QemuProcess q = QemuProcess.builder().name("writer").guest(guest, w).disk(disk).start()) {
            SerialConsole c = q.console();
            assertTrue(c.awaitLine(p("^VMMIG-READY "), BOOT).text().contains("blocks=2048 bs=4096 mode=prefill,hot hot=128"));
            ConsoleLine prefilled = c.awaitLine(p("^PREFILL DONE 2048$"), STEP);
            long reportedWrites = 0;
            int from = prefilled.index();
            for (int i = 0; i < 3; i++) {   // let it write hot blocks for three throughput reports
                ConsoleLine tput = c.awaitLine(p("^TPUT \\d+ \\d+$"), STEP, from);
                reportedWrites = Long.parseLong(tput.text().split(" ")[2]);
                from = tput.index() + 1;
            }
            assertTrue(reportedWrites > 2048, "hot writes after the prefill: " + reportedWrites);

            int mark = c.lineCount();
            c.send("verify");
            ConsoleLine result = c.awaitLine(p("^VERIFY (OK|FAIL)"), STEP, mark);
            Matcher m = p("^VERIFY OK 2048 unwritten=0 writes=(\\d+) ioerrors=0$").matcher(result.text());
            assertTrue(m.matches(), result.text());
            assertTrue(Long.parseLong(m.group(1)) >= reportedWrites, result.text());

            List<ConsoleLine> lines = c.lines();
            for (int i = 1; i < lines.size(); i++) {
                assertEquals(i, lines.get(i).index());
                assertTrue(lines.get(i).nanoTime() >= lines.get(i - 1).nanoTime(), "monotonic at line " + i);
            }
            Heartbeats hb = Heartbeats.of(lines);
            assertTrue(hb.all().size() > 50, "heartbeats: " + hb.all().size());
            assertEquals(0, hb.missing());
            assertTrue(hb.all().get(0).seq() == 1 && hb.all().get(1).guestMs() > hb.all().get(0).guestMs());

            List<String> log = Files.readAllLines(q.dir().resolve("console.log"));
            assertTrue(log.size() >= lines.size());
            assertEquals(lines.get(0).logForm(), log.get(0));
            assertEquals(AcceleratorProbe.verdict().accelerator(), q.accelerator());
        }
    }

    @Test
    void verifyFailsWhenAWrittenBlockIsCorruptedBehindTheGuestsBack() throws Exception {
        Workload w = Workload.defaults().withBlocks(1024).withHotSet(0, 64).withRate(200);
        DiskImage disk = DiskImage.create(tmp.resolve("disk.raw"), DiskImage.Format.RAW, 16 * MIB);
        try (QemuProcess q = QemuProcess.builder().name("victim").guest(guest, w).disk(disk).start()) {
            SerialConsole c = q.console();
            c.awaitLine(p("^PREFILL DONE 1024$"), BOOT);
            int mark = c.lineCount();
            c.send("pause");
            c.awaitLine(p("^PAUSED \\d+$"), STEP, mark);

            // the guest's O_DIRECT writes are in the raw file: block 100 says who it is
            byte[] b100 = readBlock(disk.path(), 100);
            ByteBuffer header = ByteBuffer.wrap(b100).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals("VMMIGBLK", new String(b100, 0, 8, StandardCharsets.US_ASCII));
            assertEquals(100, header.getLong(8));
            assertEquals(1, header.getLong(16));

            HostCommand.run(null, STEP, List.of("dd", "if=/dev/urandom", "of=" + disk.path(), "bs=4096", "seek=100",
                    "count=1", "conv=notrunc,fsync", "status=none"));
            byte[] b200 = readBlock(disk.path(), 200);   // a valid block in the wrong place
            try (RandomAccessFile f = new RandomAccessFile(disk.path().toFile(), "rw")) {
                f.seek(300L * 4096);
                f.write(b200);
            }
            assertArrayEquals(b200, readBlock(disk.path(), 300));

            mark = c.lineCount();
            c.send("verify");
            ConsoleLine result = c.awaitLine(p("^VERIFY (OK|FAIL)"), STEP, mark);
            assertTrue(result.text().matches("VERIFY FAIL block=100 expected-gen=1 found=bad-magic:\\p{XDigit}{16} failures=2 checked=1024"),
                    result.text());

            mark = c.lineCount();
            c.send("resume");
            c.awaitLine(p("^RESUMED \\d+$"), STEP, mark);
            c.awaitLine(p("^TPUT [1-9]\\d* \\d+$"), STEP, mark);   // writing again
        }
    }

    @Test
    void verifiesOnATimerToo() {
        Workload w = Workload.defaults().withBlocks(256).withHotSet(0, 16).withPhases(Phase.PREFILL, Phase.RANDOM)
                .withRate(0).withVerifyAfter(3);
        DiskImage disk = DiskImage.create(tmp.resolve("disk.qcow2"), DiskImage.Format.QCOW2, 4 * MIB);
        try (QemuProcess q = QemuProcess.builder().name("timer").guest(guest, w).disk(disk).start()) {
            ConsoleLine start = q.console().awaitLine(p("^VERIFY START timer$"), BOOT);
            ConsoleLine ok = q.console().awaitLine(p("^VERIFY (OK|FAIL)"), STEP, start.index());
            assertTrue(ok.text().startsWith("VERIFY OK 256 unwritten=0 "), ok.text());
        }
    }

    private static byte[] readBlock(Path image, long block) throws Exception {
        byte[] b = new byte[4096];
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
            f.seek(block * 4096);
            f.readFully(b);
        }
        return b;
    }
}
