package io.vmmig.it.bench;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.lab.bench.GuestSnapshot;
import io.vmmig.testkit.ConsoleLine;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark's saved guest: every restore runs on from the saved state (no new boot, no new
 * prefill), keeps writing, and verifies every block it wrote against its own copy of the image; the
 * saved image itself is never written.
 */
class GuestSnapshotIT {
    private static final long BLOCKS = 1024;  // 4 MiB
    private static final Pattern TPUT = Pattern.compile("^TPUT (\\d+) (\\d+)");

    @TempDir Path dir;

    @Test
    void eachRestoreRunsOnFromTheSavedStateOnItsOwnCopy() throws Exception {
        Workload w = Workload.defaults().withBlocks(BLOCKS).withPhases(Workload.Phase.PREFILL, Workload.Phase.RANDOM)
                .withRate(0).withHeartbeatMs(20);
        GuestSnapshot snapshot = GuestSnapshot.prepare(TestGuest.get(), w, 96, 8L << 20,
                Files.createDirectories(dir.resolve("saved")));
        String savedImage = sha256(dir.resolve("saved/template.qcow2"));
        for (int run = 1; run <= 2; run++) {
            try (QemuProcess vm = snapshot.resume("snap-" + run, dir.resolve("copy-" + run + ".qcow2"))) {
                ConsoleLine first = vm.console().awaitLine(TPUT, Duration.ofSeconds(20));
                ConsoleLine second = vm.console().awaitLine(TPUT, Duration.ofSeconds(20), first.index() + 1);
                long writesBefore = writes(first);
                assertTrue(writesBefore >= BLOCKS, "the prefill happened before the save: " + first.text());
                assertTrue(writes(second) > writesBefore, "the restored guest keeps writing: " + second.text());
                assertTrue(vm.console().lines().stream().noneMatch(l -> l.text().startsWith("VMMIG-INIT")),
                        "no new boot on " + vm.name());
                int mark = vm.console().lineCount();
                vm.console().send("verify");
                String v = vm.console().awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofSeconds(60), mark).text();
                assertTrue(v.startsWith("VERIFY OK " + BLOCKS + " unwritten=0"), v);
            }
        }
        assertEquals(savedImage, sha256(dir.resolve("saved/template.qcow2")), "the saved image was written to");
    }

    private static long writes(ConsoleLine tput) {
        Matcher m = TPUT.matcher(tput.text());
        assertTrue(m.find(), tput.text());
        return Long.parseLong(m.group(2));
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
