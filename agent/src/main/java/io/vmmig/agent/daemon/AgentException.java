package io.vmmig.agent.daemon;

import io.vmmig.agent.control.ErrorKind;

/** The agent's one error root: what went wrong, in words for the operator, and its {@link ErrorKind}. */
public class AgentException extends Exception {
    private final ErrorKind kind;

    public AgentException(ErrorKind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public AgentException(ErrorKind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public ErrorKind kind() {
        return kind;
    }
}
