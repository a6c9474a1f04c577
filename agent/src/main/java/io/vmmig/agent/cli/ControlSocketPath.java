package io.vmmig.agent.cli;

import java.nio.file.Path;
import java.util.function.UnaryOperator;

/** Where the CLI looks for the agent's control socket: {@code --socket}, else {@code $VMMIG_SOCKET}, else the default. */
public final class ControlSocketPath {
    /** The agent's default control socket. */
    public static final Path DEFAULT = Path.of("/run/vmmig/control.sock");
    /** The environment variable naming another socket. */
    public static final String ENV = "VMMIG_SOCKET";

    private ControlSocketPath() {
    }

    /**
     * @param option the {@code --socket} value, or null
     * @param env    environment lookup ({@code System::getenv})
     */
    public static Path resolve(Path option, UnaryOperator<String> env) {
        if (option != null) return option;
        String fromEnv = env.apply(ENV);
        if (fromEnv != null && !fromEnv.isBlank()) return Path.of(fromEnv);
        return DEFAULT;
    }
}
