package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.SerialConsole;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real agents (two processes, mutual TLS), real QEMUs: migrations driven through the control socket. */
class AgentMigrationIT {
    @TempDir
    static Path dir;
    static AgentHosts hosts;

    @BeforeAll
    static void agents() throws Exception {
        TestPki pki = AgentHosts.pki(dir);
        hosts = AgentHosts.start(dir, pki, List.of(), List.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (hosts != null) hosts.close();
    }

    @Test
    void hybridMigrationThroughTheAgents() throws Exception {
        Path vmDir = Files.createDirectories(dir.resolve("vm1"));
        Workload w = Workload.defaults().withBlocks(16L * 256).withHotSet(0, 1024).withRate(1000);
        DiskImage disk = DiskImage.create(vmDir.resolve("vm1.qcow2"), DiskImage.Format.QCOW2, 64L << 20);
        try (QemuProcess src = QemuProcess.builder().name("vm1").memoryMb(256).guest(TestGuest.get(), w).disk(disk).start()) {
            src.console().awaitLine(Pattern.compile("^PREFILL DONE"), Duration.ofMinutes(3));
            SerialConsole dstConsole = src.console().successor("vm1-dst", vmDir.resolve("dst-console.log"));
            List<ControlEvent> events = ControlClient.exchange(hosts.a.controlSocket,
                    ControlRequest.migrate(src.qmpSocket().toString(), hosts.destB(), "hybrid", null, null, null, null),
                    e -> System.out.println("event: " + e));
            ControlEvent last = events.get(events.size() - 1);
            assertInstanceOf(ControlEvent.Report.class, last, () -> "migration failed: " + last + "\nA:\n" + hosts.a.logTail()
                    + "\nB:\n" + hosts.b.logTail());
            String id = ((ControlEvent.Accepted) events.get(0)).id();
            assertTrue(src.awaitExit(Duration.ofSeconds(30)).isPresent(), "source QEMU quit after the migration");
            Path image = hosts.imagesOf(hosts.b).resolve("vm1.qcow2");
            assertTrue(Files.exists(image), "destination image " + image);
            try (QmpClient dst = QmpClient.connect(dir.resolve("b/state/m").resolve(id).resolve("qmp.sock"))) {
                assertEquals("running", dst.call(new QueryStatus()).status());
                int mark = dstConsole.lineCount();
                dstConsole.send("verify");
                String verdict = dstConsole.awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofMinutes(2), mark).text();
                assertTrue(verdict.startsWith("VERIFY OK"), verdict);
                dst.call(new Quit());
            }
            dstConsole.close();
            assertFalse(hosts.a.logText().contains("ERROR"), hosts.a.logTail());
        }
    }
}
