package io.vmmig.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AcceleratorProbeTest {
    @TempDir
    Path tmp;

    @Test
    void verdictIsLogged() throws Exception {
        AcceleratorProbe.Verdict v = AcceleratorProbe.verdict();
        assertEquals(v.accelerator(), Accelerator.detect());
        assertTrue(v.describe().startsWith("accelerator " + v.accelerator() + " (from "), v.describe());
        // simplelogger.properties sends the test logs to this file
        String log = Files.readString(Path.of("target/testkit-test.log"));
        assertTrue(log.contains(v.describe()), "logged: " + v.describe());
    }

    @Test
    void environmentOverrides() {
        AcceleratorProbe.Verdict v = AcceleratorProbe.decide("tcg", tmp);
        assertEquals(Accelerator.TCG, v.accelerator());
        assertEquals("env", v.source());
        assertEquals(Accelerator.KVM, AcceleratorProbe.decide("KVM", tmp).accelerator());
        TestKitException e = assertThrows(TestKitException.class, () -> AcceleratorProbe.decide("hvf", tmp));
        assertTrue(e.getMessage().contains("VMMIG_ACCEL"));
    }

    @Test
    void probeAndCacheAgree() {
        // the cached or probed verdict is a real accelerator name QEMU accepts
        AcceleratorProbe.Verdict v = AcceleratorProbe.verdict();
        assertTrue(v.source().equals("env") || v.source().equals("cache") || v.source().equals("probe"), v.source());
        assertTrue(v.accelerator().qemuArgs().contains(v.accelerator().name().toLowerCase()));
    }
}
