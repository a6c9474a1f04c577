package io.vmmig.agent.config;

import java.util.Locale;

/** How much the agent logs ({@code log-level} / {@code --log-level}); each level includes those above it. */
public enum LogLevel {
    ERROR, WARN, INFO, DEBUG, TRACE;

    /** {@code error|warn|info|debug|trace}, any case. */
    public static LogLevel parse(String text) {
        for (LogLevel l : values()) if (l.name().equalsIgnoreCase(text.strip())) return l;
        throw new IllegalArgumentException("'" + text + "' is not a log level (error, warn, info, debug, trace)");
    }

    /** The name slf4j-simple and operators use: lower case. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
