package io.vmmig.agent.cli;

import io.vmmig.agent.control.ControlEvent;
import java.nio.charset.StandardCharsets;

/**
 * One event line from the agent: the bytes exactly as received (without the newline) and the decoded event.
 */
public record ReceivedEvent(byte[] raw, ControlEvent event) {

    /** The line as text. */
    public String line() {
        return new String(raw, StandardCharsets.UTF_8);
    }
}
