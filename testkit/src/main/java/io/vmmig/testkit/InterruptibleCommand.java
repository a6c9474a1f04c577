package io.vmmig.testkit;

import java.util.ArrayList;
import java.util.List;

/**
 * A command line that can be interrupted with SIGINT whatever the test runner inherited. A shell that
 * starts a job in the background without job control (CI scripts, {@code nohup ... &}) starts it with
 * SIGINT ignored, and an ignored signal stays ignored across exec: the JVM then never sees a test's
 * {@code kill -INT}. perl (essential on Debian) resets SIGINT to its default and execs the command, so
 * the JVM installs its own handler as it does under a terminal.
 */
public final class InterruptibleCommand {
    private InterruptibleCommand() {
    }

    /** {@code argv} behind a prefix that restores SIGINT's default disposition. */
    public static List<String> of(List<String> argv) {
        List<String> wrapped = new ArrayList<>(List.of("perl", "-e",
                "$SIG{INT} = 'DEFAULT'; exec { $ARGV[0] } @ARGV or die \"exec $ARGV[0]: $!\\n\""));
        wrapped.addAll(argv);
        return wrapped;
    }
}
