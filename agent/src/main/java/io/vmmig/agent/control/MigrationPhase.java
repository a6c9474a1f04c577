package io.vmmig.agent.control;

/** Where a migration is, as the agent reports it. */
public enum MigrationPhase {
    /** Checking the VM, agreeing with the destination (image created there, token issued). */
    PREPARING,
    /** Disk data moving before the memory migration starts (pre-copy rounds, mirror sync, hybrid push). */
    PUSHING,
    /** QEMU migrates memory; disk pushes go on. */
    MEMORY,
    /** The source is paused for the switchover. */
    CUTOVER,
    /** The guest runs at the destination; it pulls what is still missing. */
    PULLING,
    /** The destination holds the whole disk; the source is being released. */
    FINISHING,
    /** Done: the guest runs at the destination from a plain local image. */
    COMPLETED,
    /** Failed (before or after the switchover): the status's {@code guest} says where it runs. */
    FAILED,
    /** Cancelled before the switchover (a switched-over migration is never cancelled). */
    CANCELLED;

    /** Whether the migration ended. */
    public boolean terminal() {
        return this == COMPLETED || this == FAILED || this == CANCELLED;
    }

    /** Whether the guest already runs at the destination (the migration can only finish forward). */
    public boolean switchedOver() {
        return this == PULLING || this == FINISHING || this == COMPLETED;
    }
}
