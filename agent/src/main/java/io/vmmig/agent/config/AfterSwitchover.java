package io.vmmig.agent.config;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What the destination agent does for the guest's network right after the switchover.
 *
 * @param announceRounds    announcement rounds (gratuitous ARP/RARP from every NIC): the destination QEMU's own as
 *                          the guest starts (its {@code announce-*} migration parameters) and QMP {@code announce-self}
 *                          once the agent sees the switchover; 0: none at all ({@code announce.rounds}, default 5)
 * @param announceInitialMs first announcement this many ms after the switchover ({@code announce.initial}, 50)
 * @param announceMaxMs     longest gap between two announcements ({@code announce.max}, 550)
 * @param announceStepMs    each gap this much longer than the last ({@code announce.step}, 100)
 * @param hook              the {@code post-switchover} command (absolute path), or null: none
 * @param hookTimeout       the hook is killed after this long ({@code post-switchover.timeout}, 30 s)
 */
public record AfterSwitchover(int announceRounds, int announceInitialMs, int announceMaxMs, int announceStepMs,
                              Path hook, Duration hookTimeout) {
    public static final AfterSwitchover DEFAULTS = new AfterSwitchover(5, 50, 550, 100, null, Duration.ofSeconds(30));

    public AfterSwitchover {
        if (announceRounds < 0 || announceInitialMs < 1 || announceMaxMs < 1 || announceStepMs < 1)
            throw new IllegalArgumentException("announce rounds must be >= 0 and its times >= 1 ms");
        if (hook != null && !hook.isAbsolute()) throw new IllegalArgumentException("post-switchover must be an absolute path: " + hook);
        if (hookTimeout == null || hookTimeout.isNegative() || hookTimeout.isZero())
            throw new IllegalArgumentException("post-switchover.timeout must be positive");
    }

    public AfterSwitchover withHook(Path command, Duration timeout) {
        return new AfterSwitchover(announceRounds, announceInitialMs, announceMaxMs, announceStepMs, command, timeout);
    }
}
