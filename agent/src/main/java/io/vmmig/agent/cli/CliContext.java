package io.vmmig.agent.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.UnaryOperator;

/**
 * What the client commands write to and read from outside the command line: stdout (raw, for
 * {@code --json} lines byte for byte), stderr, whether stdout is a terminal, the environment, and Ctrl-C.
 * Tests give their own.
 */
public record CliContext(OutputStream stdout, PrintStream err, boolean tty, UnaryOperator<String> env,
                         InterruptSource interrupts) {

    /** The process's own. */
    public static CliContext system() {
        return new CliContext(System.out, new PrintStream(System.err, true, StandardCharsets.UTF_8),
                System.console() != null, System::getenv, new CtrlC());
    }

    /** Stdout for text, UTF-8 (a new wrapper: take it once per command). */
    public PrintStream out() {
        return new PrintStream(stdout, true, StandardCharsets.UTF_8);
    }
}
