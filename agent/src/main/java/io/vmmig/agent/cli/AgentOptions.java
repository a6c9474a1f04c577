package io.vmmig.agent.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options every client command has: which agent, and JSON output. */
public final class AgentOptions {
    @Option(names = "--socket", paramLabel = "PATH",
            description = "the agent's control socket (default: $VMMIG_SOCKET, else /run/vmmig/control.sock)")
    Path socket;

    @Option(names = "--json", description = "print the agent's answer as JSON lines, exactly as it sent them")
    boolean json;

    /** The socket to use, from {@code --socket}, the environment or the default. */
    public Path socket(CliContext context) {
        return ControlSocketPath.resolve(socket, context.env());
    }

    public boolean json() {
        return json;
    }
}
