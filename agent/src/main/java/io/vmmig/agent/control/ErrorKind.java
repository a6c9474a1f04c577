package io.vmmig.agent.control;

/**
 * What went wrong, as the CLI's exit code and a manager's switch statement see it. The numbers are the
 * documented exit codes of {@code vmmig migrate|status|list|cancel}.
 */
public enum ErrorKind {
    /** The migration failed; the guest keeps running at the source. */
    FAILED(1),
    /** Bad request or command line (unknown strategy, bad size, missing argument). */
    BAD_REQUEST(2),
    /** This host cannot do it: QEMU missing or too old, a VM disk vmmig cannot handle. */
    ENVIRONMENT(3),
    /** The local agent's control socket or the destination agent cannot be reached. */
    UNREACHABLE(4),
    /** The peers do not trust each other: certificate not from the CA, host name mismatch, token refused. */
    UNAUTHORIZED(5),
    /** Unknown VM or migration id. */
    NOT_FOUND(6),
    /** Not enough space (or no allowed directory) for the disk at the destination. */
    NO_SPACE(7),
    /** Cancelled before the switchover; the guest keeps running at the source. */
    CANCELLED(8),
    /** The client stopped watching after the switchover; the migration goes on in the agent. */
    DETACHED(9),
    /** The destination refused what the source asked it to run (a VM description option outside its allow-list). */
    REFUSED(10);

    public final int exitCode;

    ErrorKind(int exitCode) {
        this.exitCode = exitCode;
    }
}
