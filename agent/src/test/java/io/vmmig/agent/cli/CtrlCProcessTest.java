package io.vmmig.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.testkit.InterruptibleCommand;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A real SIGINT to a real {@code vmmig migrate} process: it cancels instead of dying. */
class CtrlCProcessTest {

    @Test
    void sigintBeforeTheSwitchoverCancels() throws Exception {
        CountDownLatch cancelAsked = new CountDownLatch(1);
        try (ScriptedAgent agent = new ScriptedAgent()) {
            agent.on(ControlRequest.Op.CANCEL, (r, c) -> {
                c.send(new ControlEvent.Cancelling(r.id()));
                cancelAsked.countDown();
            });
            agent.on(ControlRequest.Op.MIGRATE, (r, c) -> {
                c.send(new ControlEvent.Accepted("m-1", "vm1", "b", "hybrid"), new ControlEvent.PhaseChange("m-1", MigrationPhase.PUSHING, 10));
                assertTrue(cancelAsked.await(20, TimeUnit.SECONDS), "no cancel request");
                c.send(new ControlEvent.Failure("m-1", ErrorKind.CANCELLED, "migration m-1 cancelled"));
            });
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            // SIGINT may be ignored in what the runner inherited (a background CI job): restore it for the CLI
            Process p = new ProcessBuilder(InterruptibleCommand.of(List.of(java, "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"),
                    "io.vmmig.agent.Main", "migrate", "vm1", "b", "--socket", agent.socket().toString())))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.PIPE).start();
            try {
                assertEquals(ControlRequest.Op.MIGRATE, agent.nextRequest().op(), "the client's request, sent after its SIGINT handler is set");
                Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).inheritIO().start();
                assertEquals(0, kill.waitFor());
                assertTrue(p.waitFor(30, TimeUnit.SECONDS), "vmmig migrate did not end after SIGINT");
                String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                assertEquals(ErrorKind.CANCELLED.exitCode, p.exitValue(), err);
                assertEquals(ControlRequest.cancel("m-1"), agent.nextRequest());
                assertTrue(err.endsWith("vmmig migrate: migration m-1 cancelled\n"), err);
                assertEquals(List.of(), agent.errors());
            } finally {
                p.destroyForcibly();
            }
        }
    }
}
