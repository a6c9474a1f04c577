package io.vmmig.agent.config;

import java.time.Duration;

/**
 * Who may use the control socket and how many at once (keys {@code control-socket.*} of the config file).
 *
 * @param group          with a group (like libvirt's {@code unix_sock_group}) the socket is mode 0660 owned by
 *                       it and its members may use it beside root; null: mode 0600, root (and the agent's
 *                       own user) only
 * @param maxConnections control connections open at once (waiting for their request or being served);
 *                       more are answered with an error and closed
 * @param idleTimeout    how long a connection may stay open without sending its request line
 */
public record ControlSocketOptions(String group, int maxConnections, Duration idleTimeout) {
    public static final int DEFAULT_MAX_CONNECTIONS = 64;
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(10);
    /** A request line longer than this is refused (requests are well under 4 KiB). */
    public static final int MAX_REQUEST_BYTES = 64 << 10;

    public ControlSocketOptions {
        if (group != null && !group.matches("[A-Za-z_][A-Za-z0-9_.-]{0,31}"))
            throw new IllegalArgumentException("bad group name '" + group + "'");
        if (maxConnections < 1) throw new IllegalArgumentException("max connections must be at least 1, got " + maxConnections);
        if (idleTimeout.isNegative() || idleTimeout.isZero())
            throw new IllegalArgumentException("idle timeout must be positive, got " + idleTimeout);
    }

    /** Root only, {@value #DEFAULT_MAX_CONNECTIONS} connections, 10 s to send the request. */
    public static ControlSocketOptions defaults() {
        return new ControlSocketOptions(null, DEFAULT_MAX_CONNECTIONS, DEFAULT_IDLE_TIMEOUT);
    }
}
