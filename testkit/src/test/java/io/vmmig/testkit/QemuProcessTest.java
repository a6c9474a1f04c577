package io.vmmig.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** QEMU process lifecycle, without a guest ({@code -S}: the CPU never runs, so it costs nothing). */
class QemuProcessTest {
    private static QemuProcess.Builder idle(String name) {
        return QemuProcess.builder().name(name).memoryMb(64).accelerator(Accelerator.TCG).extraArgs(List.of("-S"));
    }

    private static boolean gone(long pid) throws Exception {
        var handle = ProcessHandle.of(pid);
        if (handle.isPresent()) {
            handle.get().onExit().get(10, TimeUnit.SECONDS);
        }
        return ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true);
    }

    @Test
    void qmpAnswersAfterStartAndCloseRemovesEverything() throws Exception {
        QemuProcess q = idle("life").start();
        Path dir = q.dir();
        long pid = q.pid();
        try (q) {
            assertTrue(q.isAlive());
            assertTrue(Files.isDirectory(dir));
            assertTrue(dir.startsWith(HarnessDirectory.base()));
            assertTrue(Files.readString(dir.resolve("owner")).startsWith(ProcessHandle.current().pid() + " "));
            assertTrue(Files.readString(dir.resolve("qemu.pid")).startsWith(pid + " "));
            // the QMP socket is really QEMU's: it greets
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(q.qmpSocket()));
                ByteBuffer buf = ByteBuffer.allocate(4096);
                StringBuilder greeting = new StringBuilder();
                while (!greeting.toString().contains("\n") && ch.read(buf) > 0) {
                    greeting.append(new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
                    buf.clear();
                }
                assertTrue(greeting.toString().contains("\"QMP\""), greeting.toString());
            }
            assertTrue(q.command().containsAll(List.of("-nodefaults", "-display", "none")));
        }
        assertFalse(Files.exists(dir), "directory removed");
        assertTrue(gone(pid), "QEMU gone");
        q.close();  // idempotent
    }

    @Test
    void cleansUpAfterAFailingTestBody() throws Exception {
        Path[] dir = new Path[1];
        long[] pid = new long[1];
        IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> {
            try (QemuProcess q = idle("fail").start()) {
                dir[0] = q.dir();
                pid[0] = q.pid();
                throw new IllegalStateException("test body failed");
            }
        });
        assertEquals("test body failed", thrown.getMessage());
        assertFalse(Files.exists(dir[0]));
        assertTrue(gone(pid[0]));
    }

    @Test
    void killLeavesTheDirectoryUntilClose() throws Exception {
        try (QemuProcess q = idle("kill").start()) {
            q.kill();
            assertTrue(q.awaitExit(Duration.ofSeconds(10)).isPresent());
            assertFalse(q.isAlive());
            assertTrue(Files.isDirectory(q.dir()));
        }
    }

    @Test
    void startupFailureNamesQemusComplaintAndLeavesNothing() throws Exception {
        Set<Path> before = ownDirs();
        TestKitException e = assertThrows(TestKitException.class,
                () -> idle("bad").extraArgs(List.of("-device", "no-such-device-xyz")).start());
        assertTrue(e.getMessage().contains("no-such-device-xyz"), e.getMessage());
        assertEquals(before, ownDirs());
    }

    @Test
    void sweepKillsTheQemuOfADeadJvmAndRemovesItsDirectory() throws Exception {
        try (QemuProcess live = idle("live").start()) {   // a live JVM's directory must survive the sweep
            Process deadOwner = new ProcessBuilder("true").start();
            deadOwner.waitFor();
            Path dir = Files.createTempDirectory(HarnessDirectory.base(), "orphan-");
            Process orphan = new ProcessBuilder(QemuProcess.DEFAULT_BINARY, "-nodefaults", "-display", "none", "-S",
                    "-m", "64", "-accel", "tcg").redirectErrorStream(true).redirectOutput(dir.resolve("qemu.stderr").toFile()).start();
            try {
                Files.writeString(dir.resolve("owner"), deadOwner.pid() + " -1\n");
                Files.writeString(dir.resolve("qemu.pid"), HarnessDirectory.describe(orphan.toHandle()));
                assertTrue(HarnessDirectory.sweepStale() >= 1);
                assertTrue(orphan.waitFor(10, TimeUnit.SECONDS), "orphan QEMU killed");
                assertFalse(Files.exists(dir));
                assertTrue(live.isAlive());
                assertTrue(Files.isDirectory(live.dir()));
            } finally {
                orphan.destroyForcibly();
            }
        }
    }

    private static Set<Path> ownDirs() throws IOException {
        String mine = "-" + ProcessHandle.current().pid() + "-";
        if (!Files.isDirectory(HarnessDirectory.base())) {
            return Set.of();
        }
        try (Stream<Path> s = Files.list(HarnessDirectory.base())) {
            return s.filter(p -> p.getFileName().toString().contains(mine)).collect(Collectors.toSet());
        }
    }
}
