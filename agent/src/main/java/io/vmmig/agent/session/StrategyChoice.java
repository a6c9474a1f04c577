package io.vmmig.agent.session;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.MirrorSource;

/**
 * A strategy as the CLI names it: hybrid, precopy, postcopy, mirror (background copy, as libvirt's
 * default) or mirror-wb (write-blocking, libvirt's synchronous writes).
 */
public record StrategyChoice(String name, Strategy strategy, MirrorSource.Mode mirrorMode) {
    public static final String NAMES = "hybrid, precopy, postcopy, mirror, mirror-wb";

    public static StrategyChoice parse(String name) throws AgentException {
        String n = name == null ? "hybrid" : name.trim().toLowerCase(java.util.Locale.ROOT);
        return switch (n) {
            case "hybrid" -> new StrategyChoice(n, Strategy.HYBRID, null);
            case "precopy", "pre-copy" -> new StrategyChoice("precopy", Strategy.PRECOPY, null);
            case "postcopy", "post-copy" -> new StrategyChoice("postcopy", Strategy.POSTCOPY, null);
            case "mirror", "mirror-bg" -> new StrategyChoice("mirror", Strategy.MIRROR, MirrorSource.Mode.BACKGROUND);
            case "mirror-wb" -> new StrategyChoice(n, Strategy.MIRROR, MirrorSource.Mode.WRITE_BLOCKING);
            default -> throw new AgentException(ErrorKind.BAD_REQUEST, "unknown strategy '" + name + "': choose one of " + NAMES);
        };
    }

    /** Whether the disk moves through vmmig's own peer connection (not QEMU's mirror). */
    public boolean chunkTransfer() {
        return strategy != Strategy.MIRROR;
    }
}
