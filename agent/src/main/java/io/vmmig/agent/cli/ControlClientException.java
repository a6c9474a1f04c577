package io.vmmig.agent.cli;

import io.vmmig.agent.control.ErrorKind;

/**
 * Why the CLI could not get an answer from the local agent (no socket, permission denied, the agent went
 * away, a line it cannot read, no answer in time). {@link #kind()} gives the exit code.
 */
public class ControlClientException extends RuntimeException {
    private final ErrorKind kind;

    public ControlClientException(ErrorKind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ControlClientException(ErrorKind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public ErrorKind kind() {
        return kind;
    }
}
