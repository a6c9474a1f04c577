package io.vmmig.agent.daemon;

import io.vmmig.agent.control.ErrorKind;

/**
 * The agent cannot start with its configuration as written (a port taken, TLS files that do not
 * work): the message names the key. {@code vmmig agent} exits with {@link AgentCommand#EXIT_CONFIG}.
 */
public final class AgentMisconfigured extends AgentException {
    public AgentMisconfigured(String message, Throwable cause) {
        super(ErrorKind.ENVIRONMENT, message, cause);
    }
}
