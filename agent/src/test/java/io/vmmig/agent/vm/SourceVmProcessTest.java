package io.vmmig.agent.vm;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding a QEMU by its QMP socket in /proc (a QEMU with no machine: nothing boots), and the version floor. */
class SourceVmProcessTest {

    @Test
    void findsTheQemuServingASocketAndNothingForAPrefixOfIt(@TempDir Path dir) throws Exception {
        Path qmp = dir.resolve("qmp.sock");
        List<String> cmd = List.of("qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none", "-S",
                "-qmp", "unix:" + qmp + ",server=on,wait=off");
        Process p;
        try (WatchService watch = FileSystems.getDefault().newWatchService()) {
            dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Files.exists(qmp)) {
                assertTrue(p.isAlive(), () -> "QEMU exited: " + read(dir.resolve("qemu.log")));
                long left = deadline - System.nanoTime();
                assertTrue(left > 0, "QEMU created no QMP socket in 20 s");
                var key = watch.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)), TimeUnit.NANOSECONDS);
                if (key != null) {
                    key.pollEvents();
                    key.reset();
                }
            }
        }
        try {
            QemuCommandLine c = QemuCommandLine.ofProcessServing(qmp);
            assertEquals(p.pid(), c.pid());
            assertEquals(cmd, c.argv());
            AgentException none = assertThrows(AgentException.class, () -> QemuCommandLine.ofProcessServing(dir.resolve("qmp.so")));
            assertEquals(ErrorKind.NOT_FOUND, none.kind());
            assertTrue(none.getMessage().contains(dir.resolve("qmp.so").toString()), none.getMessage());
        } finally {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
        }
    }

    @Test
    void qemuVersionFloorIsSixOne() {
        assertDoesNotThrow(() -> SourceVm.requireVersion("source", "6.1.0", 6, 1));
        assertDoesNotThrow(() -> SourceVm.requireVersion("source", "7.2.22", 7, 2));
        assertDoesNotThrow(() -> SourceVm.requireVersion("source", "10.0.0", 10, 0));
        for (int[] old : new int[][] {{6, 0}, {5, 2}, {2, 12}}) {
            AgentException e = assertThrows(AgentException.class,
                    () -> SourceVm.requireVersion("destination", old[0] + "." + old[1] + ".0", old[0], old[1]));
            assertEquals(ErrorKind.ENVIRONMENT, e.kind());
            assertTrue(e.getMessage().contains("QEMU " + old[0] + "." + old[1] + ".0 at the destination is too old"), e.getMessage());
            assertTrue(e.getMessage().contains("6.1 or later"), e.getMessage());
        }
    }

    private static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
