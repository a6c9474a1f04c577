package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.Main;
import io.vmmig.agent.cli.ControlClient;
import io.vmmig.agent.cli.ReceivedEvent;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.testkit.pki.TestPki;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code vmmig agent} process: what an operator sees on its stderr (the journal under systemd)
 * and its exit code, for a configuration that cannot work and for a migration's phases.
 */
class AgentProcessTest {
    @TempDir
    Path dir;

    private Path config(String... lines) throws Exception {
        List<String> all = new ArrayList<>(List.of("state-dir = " + dir.resolve("state"), "control-socket = " + dir.resolve("control.sock"),
                "image-dirs = " + dir.resolve("images")));
        all.addAll(List.of(lines));
        return Files.write(dir.resolve("vmmig.conf"), all);
    }

    private static ProcessBuilder agent(Path config, String... extra) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-Xmx96m", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "agent", "--config", config.toString()));
        cmd.addAll(List.of(extra));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().remove("JOURNAL_STREAM");
        return pb;
    }

    /** Runs an agent that must refuse to start; its exit code and stderr. */
    private static String refused(ProcessBuilder pb) throws Exception {
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the agent did not exit");
        assertEquals(AgentCommand.EXIT_CONFIG, p.exitValue(), err);
        assertFalse(err.contains("\tat "), "no stack trace: " + err);
        return err;
    }

    @Test
    void aBusyPortIsOneLineAndTheNoRestartCode() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = taken.getLocalPort();
            String err = refused(agent(config("insecure = true", "listen = 127.0.0.1:" + port)));
            assertEquals("vmmig agent: listen = 127.0.0.1:" + port + ": cannot listen: Address already in use\n", err);
        }
    }

    @Test
    void aKeyThatIsNotTheCertificatesAndABadLogLevel() throws Exception {
        TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
        pki.ca("ca", "test-ca");
        pki.leaf("a", "host-a", "IP:127.0.0.1", "ca");
        pki.leaf("b", "host-b", "IP:127.0.0.1", "ca");
        Path conf = config("listen = 127.0.0.1:0", "tls.key = " + pki.key("b"), "tls.cert = " + pki.cert("a"), "tls.ca = " + pki.cert("ca"));
        String err = refused(agent(conf));
        assertEquals("vmmig agent: tls.key = " + pki.key("b") + ": not the key of the certificate in tls.cert (" + pki.cert("a")
                + ", CN=host-a)\n", err);
        assertTrue(refused(agent(conf, "--log-level", "loud")).contains("'loud' is not a log level"));
        Path missing = config("listen = 127.0.0.1:0", "tls.key = " + pki.key("a"), "tls.cert = " + dir.resolve("gone.pem"),
                "tls.ca = " + pki.cert("ca"));
        assertEquals("vmmig agent: tls.cert = " + dir.resolve("gone.pem") + ": no such file\n", refused(agent(missing)));
    }

    @Test
    void aRelativeConfigIsTheCallersAndItsErrorsNameFileAndLine() throws Exception {
        config("insecure = true", "listen = 127.0.0.1:x");
        String err = refused(agent(Path.of("vmmig.conf")).directory(dir.toFile()));
        assertEquals("vmmig agent: " + dir.resolve("vmmig.conf") + " line 5: 'listen': bad address '127.0.0.1:x': bad port 'x'"
                + " (expected HOST[:PORT] or [IPV6][:PORT])\n", err);
    }

    /** An agent's stderr lines while it fails one migration (its VM's QMP socket is a plain file). */
    private List<String> linesOfAFailedMigration(boolean journal, String... options) throws Exception {
        Path vm = Files.writeString(Files.createDirectories(dir.resolve("vm1")).resolve("qmp.sock"), "not a socket");
        ProcessBuilder pb = agent(config("insecure = true", "listen = 127.0.0.1:0"), options);
        if (journal) pb.environment().put("JOURNAL_STREAM", "8:12345");
        Process p = pb.start();
        List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Void> ready = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    lines.add(l);
                    if (l.startsWith("vmmig agent: ready")) ready.complete(null);
                }
            } catch (java.io.IOException e) {
                // the agent went away
            }
            ready.complete(null);
        });
        reader.start();
        try {
            ready.get(60, TimeUnit.SECONDS);
            assertTrue(p.isAlive(), "agent exited: " + lines);
            ControlEvent last;
            try (ControlClient c = ControlClient.connect(dir.resolve("control.sock"))) {
                c.send(ControlRequest.migrate(vm.toString(), "127.0.0.1:1", "hybrid", null, null, null, null));
                do {
                    ReceivedEvent e = c.next(Instant.now().plusSeconds(60));
                    last = e.event();
                } while (!(last instanceof ControlEvent.Failure));
            }
        } finally {
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            reader.join(10_000);
        }
        return List.copyOf(lines);
    }

    @Test
    void phasesAtInfoWithTheMigrationIdOneLineEach() throws Exception {
        List<String> lines = linesOfAFailedMigration(true);
        String id = lines.stream().filter(l -> l.contains("PREPARING")).findFirst().orElseThrow(() -> new AssertionError(lines))
                .replaceAll(".* migration (m-[0-9a-f]{8}) .*", "$1");
        assertTrue(lines.contains("INFO MigrationRecord - migration " + id + " (source side, hybrid of vm1 with 127.0.0.1:1): PREPARING"),
                "the start, at INFO, no time stamp for the journal: " + lines);
        String failed = lines.stream().filter(l -> l.contains(id + ": FAILED")).findFirst().orElseThrow(() -> new AssertionError(lines));
        assertTrue(failed.matches("WARN MigrationRecord - migration " + id + ": FAILED after \\d+ ms: cannot talk to the VM's QMP socket "
                + java.util.regex.Pattern.quote(dir.resolve("vm1/qmp.sock").toString()) + ": .+"), "the end, with the cause: " + failed);
        for (String l : lines)
            assertTrue(l.matches("(INFO|WARN|ERROR) [A-Za-z]+ - .+|vmmig agent: .+"), "one event per line, no colours: " + l);
    }

    @Test
    void timeStampsOutsideTheJournalAndLessAtWarn() throws Exception {
        List<String> lines = linesOfAFailedMigration(false, "--log-level", "warn");
        // nothing at INFO but the audit log, which is kept whatever the level
        assertTrue(lines.stream().noneMatch(l -> l.contains(" INFO ") && !l.contains(" INFO audit - ")), "nothing at INFO: " + lines);
        assertTrue(lines.stream().anyMatch(l -> l.contains(" INFO audit - event=migrate ") && l.contains("caller=\"uid=")),
                "the audit line of the request: " + lines);
        String failed = lines.stream().filter(l -> l.contains(": FAILED after")).findFirst().orElseThrow(() -> new AssertionError(lines));
        assertTrue(failed.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}[^ ]* WARN MigrationRecord - migration m-.+"), failed);
    }
}
