package io.vmmig.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A test JVM that dies leaves no QEMU and no directory behind: SIGTERM via the shutdown hook, SIGKILL via the next sweep. */
class JvmDeathCleanupTest {
    private record Stray(Process jvm, long qemuPid, Path dir) {
    }

    private static Stray launch() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // its log goes to stderr, not into this JVM's target/testkit-test.log
        Process jvm = new ProcessBuilder(java.toString(), "-Dorg.slf4j.simpleLogger.logFile=System.err",
                "-cp", System.getProperty("java.class.path"), StrayQemuMain.class.getName()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null && !line.startsWith("STARTED ")) {
            // skip anything else the child prints
        }
        if (line == null) {
            jvm.destroyForcibly();
            throw new AssertionError("child JVM exited with " + jvm.waitFor() + " before starting QEMU");
        }
        String[] parts = line.split(" ", 3);
        return new Stray(jvm, Long.parseLong(parts[1]), Path.of(parts[2]));
    }

    private static boolean qemuGone(long pid) throws Exception {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isPresent()) {
            h.get().onExit().get(15, TimeUnit.SECONDS);
        }
        return ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true);
    }

    @Test
    void sigtermRunsTheShutdownHook() throws Exception {
        Stray s = launch();
        try {
            assertTrue(ProcessHandle.of(s.qemuPid()).isPresent());
            s.jvm().destroy();   // SIGTERM
            assertTrue(s.jvm().waitFor(30, TimeUnit.SECONDS));
            assertTrue(qemuGone(s.qemuPid()), "QEMU killed by the hook");
            assertFalse(Files.exists(s.dir()), "directory removed by the hook");
        } finally {
            s.jvm().destroyForcibly();
            ProcessHandle.of(s.qemuPid()).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    void sigkillLeftoversAreSweptByTheNextRun() throws Exception {
        Stray s = launch();
        try {
            s.jvm().destroyForcibly();   // SIGKILL: no hook runs
            assertTrue(s.jvm().waitFor(30, TimeUnit.SECONDS));
            assertEquals(137, s.jvm().exitValue());
            assertTrue(ProcessHandle.of(s.qemuPid()).map(ProcessHandle::isAlive).orElse(false), "QEMU outlived its JVM");
            assertTrue(Files.isDirectory(s.dir()));
            assertTrue(HarnessDirectory.sweepStale() >= 1);
            assertTrue(qemuGone(s.qemuPid()), "QEMU killed by the sweep");
            assertFalse(Files.exists(s.dir()), "directory removed by the sweep");
        } finally {
            ProcessHandle.of(s.qemuPid()).ifPresent(ProcessHandle::destroyForcibly);
        }
    }
}
