package io.vmmig.lab;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The lab's {@code vmmig} is the product's command plus demo and bench; the product has neither. */
class LabMainTest {

    @Test
    void labCommandIsTheProductsWithDemoAndBench() {
        Set<String> product = Main.commandLine(CommandLine.defaultFactory()).getSubcommands().keySet();
        Set<String> lab = LabMain.commandLine().getSubcommands().keySet();
        assertEquals(Set.of("migrate", "status", "list", "cancel", "agent", "cli-warm-up"), product);   // cli-warm-up: hidden, for the CDS archive
        assertEquals(Set.of("migrate", "status", "list", "cancel", "agent", "cli-warm-up", "demo", "bench"), lab);
    }

    @Test
    void demoRefusesAnAgentCommandThatIsNotExecutable() {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = LabMain.commandLine().execute("demo", "--agent-command", "/nonexistent/vmmig");
        } finally {
            System.setErr(err);
        }
        assertEquals(Main.EXIT_USAGE, exit);
        assertTrue(captured.toString(StandardCharsets.UTF_8).contains("--agent-command /nonexistent/vmmig is not an executable file"),
                captured.toString(StandardCharsets.UTF_8));
    }
}
