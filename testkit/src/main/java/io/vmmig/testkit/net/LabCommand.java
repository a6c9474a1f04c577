package io.vmmig.testkit.net;

import io.vmmig.testkit.HostCommand;
import java.time.Duration;
import java.util.List;

/** Runs {@code ip}, {@code tc} and friends to completion with the lab's deadline (see {@link HostCommand}). */
final class LabCommand {
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    private LabCommand() {
    }

    /** Runs {@code argv}; returns stdout+stderr; throws on a non-zero exit or timeout. */
    static String run(List<String> argv) {
        return HostCommand.run(null, TIMEOUT, argv);
    }

    /** Runs {@code argv} and returns its exit code and output whatever they are (cleanup paths). */
    static HostCommand.Result attempt(List<String> argv) {
        return HostCommand.attempt(null, TIMEOUT, argv);
    }

    static String tail(String text) {
        return HostCommand.tail(text);
    }
}
