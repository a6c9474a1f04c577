package io.vmmig.agent.daemon;

import io.vmmig.agent.config.LogLevel;
import java.util.function.UnaryOperator;

/**
 * The agent's log: slf4j-simple on stderr, one line per event, no colours, for the journal under
 * systemd: {@code 2026-11-22T06:30:00.123+00:00 INFO MigrationRecord - migration m-1a2b3c4d: MEMORY after 912 ms},
 * without the time stamp when {@code JOURNAL_STREAM} says stderr goes to the journal (it stamps each
 * line itself). slf4j-simple reads its settings once, when the first logger is made:
 * {@link #configure} must run before that (the agent command calls it first thing).
 */
public final class AgentLog {
    static final String PREFIX = "org.slf4j.simpleLogger.";

    private AgentLog() {
    }

    /** Sets the agent's log level and format; {@code env} is the environment ({@code System::getenv}). */
    public static void configure(LogLevel level, UnaryOperator<String> env) {
        System.setProperty(PREFIX + "defaultLogLevel", level.key());
        // Netty's own debug lines are for Netty's developers; its warnings and errors stay
        if (level != LogLevel.TRACE) setIfAbsent("log.io.netty", level.compareTo(LogLevel.WARN) <= 0 ? level.key() : "warn");
        setIfAbsent("log." + Audit.LOGGER, "info");   // who asked for what: whatever the level
        setIfAbsent("logFile", "System.err");
        setIfAbsent("showThreadName", "false");
        setIfAbsent("showShortLogName", "true");
        setIfAbsent("levelInBrackets", "false");
        boolean journal = env.apply("JOURNAL_STREAM") != null;
        setIfAbsent("showDateTime", journal ? "false" : "true");
        setIfAbsent("dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(PREFIX + key) == null) System.setProperty(PREFIX + key, value);
    }
}
