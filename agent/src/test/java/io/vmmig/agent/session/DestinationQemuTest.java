package io.vmmig.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The destination QEMU launcher, with a QEMU that has no machine (nothing boots). */
class DestinationQemuTest {
    private static final List<String> NO_MACHINE = List.of("-machine", "none", "-nodefaults", "-display", "none");

    @Test
    void startsInIncomingDeferWithTheAgentsMonitorAndIsKilledOnClose(@TempDir Path dir) throws Exception {
        ProcessHandle qemu;
        try (DestinationQemu q = DestinationQemu.start("qemu-system-x86_64", dir, NO_MACHINE, Duration.ofSeconds(30))) {
            qemu = ProcessHandle.of(q.pid()).orElseThrow();
            assertEquals("inmigrate", q.qmp().call(new QueryStatus()).status(), "waiting for -incoming defer");
            assertTrue(Files.exists(dir.resolve("qmp.sock")));
            List<String> cmdline = List.of(Files.readString(Path.of("/proc/" + q.pid() + "/cmdline")).split("\0"));
            assertEquals(List.of("qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none",
                    "-qmp", "unix:" + dir.resolve("qmp.sock") + ",server=on,wait=off", "-pidfile", dir.resolve("qemu.pid").toString(),
                    "-incoming", "defer"), cmdline);
            assertEquals(Long.toString(q.pid()), Files.readString(dir.resolve("qemu.pid")).trim(), "QEMU's pidfile");
            // /proc/PID/stat: pid (comm) state ppid pgrp session ...: its own session and process group
            String[] stat = Files.readString(Path.of("/proc/" + q.pid() + "/stat")).replaceFirst("^.*\\) ", "").split(" ");
            assertEquals(Long.toString(q.pid()), stat[3], "QEMU leads a session of its own (setsid)");
            assertEquals(Long.toString(q.pid()), stat[2], "and its own process group");
            assertTrue(Files.exists(dir.resolve("qemu.log")), "its output goes to a file, not a pipe");
            assertTrue(DestinationQemu.running(dir).isPresent(), "found from its directory");
        }
        qemu.onExit().get(10, TimeUnit.SECONDS);
        assertFalse(qemu.isAlive());
    }

    @Test
    void keptQemuOutlivesClose(@TempDir Path dir) throws Exception {
        DestinationQemu q = DestinationQemu.start("qemu-system-x86_64", dir, NO_MACHINE, Duration.ofSeconds(30));
        ProcessHandle qemu = ProcessHandle.of(q.pid()).orElseThrow();
        try {
            q.keep();
            q.close();
            assertTrue(qemu.isAlive(), "the guest runs there: never killed");
            try (DestinationQemu again = DestinationQemu.find(dir).orElseThrow()) {
                again.keep();
                assertEquals(q.pid(), again.pid(), "a restarted agent finds it by its pidfile and QMP socket");
                assertEquals("inmigrate", again.qmp().call(new QueryStatus()).status());
            }
        } finally {
            qemu.destroyForcibly();
            qemu.onExit().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void qemuThatExitsIsReportedWithItsWords(@TempDir Path dir) {
        List<String> bad = List.of("-machine", "none", "-display", "none", "-no-such-option");
        AgentException e = assertThrows(AgentException.class,
                () -> DestinationQemu.start("qemu-system-x86_64", dir, bad, Duration.ofSeconds(30)));
        assertEquals(ErrorKind.ENVIRONMENT, e.kind());
        assertTrue(e.getMessage().startsWith("the destination QEMU exited with 1"), e.getMessage());
        assertTrue(e.getMessage().contains("no-such-option"), e.getMessage());
        AgentException missing = assertThrows(AgentException.class,
                () -> DestinationQemu.start(dir.resolve("qemu-nowhere").toString(), dir, NO_MACHINE, Duration.ofSeconds(30)));
        assertEquals(ErrorKind.ENVIRONMENT, missing.kind());
        assertTrue(missing.getMessage().contains("cannot start the destination QEMU " + dir.resolve("qemu-nowhere")), missing.getMessage());
    }
}
