package io.vmmig.lab.bench;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * How fast {@code vmmig migrate} gets going (issue 14 item 4), read off its {@code --json} event lines as they
 * arrive: from starting the command (JVM start included) to the agent's {@code accepted} line, and how long the
 * migration stayed PREPARING (the agent's {@code elapsedMillis} of the first phase after it).
 */
final class CliStartTimes {
    private long acceptedMillis = -1;
    private long preparingMillis = -1;

    /** One event line, {@code sinceStartNanos} after the command was started. */
    void observe(JsonNode line, long sinceStartNanos) {
        String event = line.path("event").asText("");
        if (event.equals("accepted") && acceptedMillis < 0) acceptedMillis = sinceStartNanos / 1_000_000;
        if (event.equals("phase") && preparingMillis < 0 && !line.path("phase").asText("PREPARING").equals("PREPARING"))
            preparingMillis = line.path("elapsedMillis").asLong(-1);
    }

    /** Command start to the {@code accepted} line, ms; -1 if none came. */
    long acceptedMillis() {
        return acceptedMillis;
    }

    /** The migration's PREPARING phase, ms (the agent's clock); -1 if no later phase came. */
    long preparingMillis() {
        return preparingMillis;
    }
}
