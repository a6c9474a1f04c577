package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A JVM SIGKILLed with a lab up: its forwarder exits by itself, the next sweep deletes the namespaces. */
class LabJvmDeathTest {

    @Test
    void sigkilledOwnerIsCleanedUpByTheNextSweep(@TempDir Path tmp) throws Exception {
        killOwner(tmp, true);
    }

    @Test
    void sigtermedOwnerCleansUpInItsShutdownHook(@TempDir Path tmp) throws Exception {
        killOwner(tmp, false);
    }

    private static void killOwner(Path tmp, boolean sigkill) throws Exception {
        var reason = NetworkLab.unavailableReason();
        assumeTrue(reason.isEmpty(), () -> "skipping: " + reason.orElse(""));
        Process jvm = new ProcessBuilder(JavaCommand.of(StrayLabMain.class, List.of(tmp.resolve("f.sock").toString())))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String[] lab = null;
        try {
            String line = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8))
                    .readLine();
            assertNotNull(line, "child JVM died before reporting its lab");
            lab = line.split(" ");
            List<ProcessHandle> inside = new ArrayList<>();
            for (String pid : LabCommand.run(List.of("ip", "netns", "pids", lab[1])).trim().split("\\s+")) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(inside::add);
            }
            assertFalse(inside.isEmpty(), "the forwarder runs in " + lab[1]);

            if (sigkill) {
                jvm.destroyForcibly();
            } else {
                jvm.destroy();
            }
            assertTrue(jvm.waitFor(20, TimeUnit.SECONDS), "child JVM still running");
            for (ProcessHandle p : inside) {
                p.onExit().get(10, TimeUnit.SECONDS);  // SIGKILL: its stdin ended with its parent; SIGTERM: the hook
            }
            if (sigkill) {
                NetworkLab.sweepStale();  // (another JVM's first lab may sweep it first: check the result)
            }
            List<String> left = LabNamespaces.list();
            assertFalse(left.contains(lab[1]) || left.contains(lab[2]), "left: " + left);
        } finally {
            jvm.destroyForcibly();
            if (lab != null) {
                LabNamespaces.delete(lab[1]);
                LabNamespaces.delete(lab[2]);
            }
        }
    }
}
