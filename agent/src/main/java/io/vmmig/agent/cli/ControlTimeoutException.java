package io.vmmig.agent.cli;

import io.vmmig.agent.control.ErrorKind;

/** The agent sent no event before the client's deadline. */
public final class ControlTimeoutException extends ControlClientException {
    public ControlTimeoutException(String message) {
        super(ErrorKind.UNREACHABLE, message);
    }
}
