package io.vmmig.strategy.qemu;

/**
 * QEMU's memory migration ended without completing ({@code failed} or {@code cancelled}, as its
 * MIGRATION event said), on the side named. Before the switchover the guest still runs at the source.
 */
public final class MemoryMigrationFailedException extends RuntimeException {
    private final MigrationEvent.Side side;
    private final String qemuStatus;

    public MemoryMigrationFailedException(MigrationEvent.Side side, String qemuStatus) {
        this(side, qemuStatus, null);
    }

    /** With QEMU's own reason ({@code query-migrate}'s {@code error-desc}), when it gave one. */
    public MemoryMigrationFailedException(MigrationEvent.Side side, String qemuStatus, String qemuReason) {
        super((side == MigrationEvent.Side.DESTINATION ? "incoming " : "") + "memory migration " + qemuStatus
                + (qemuReason == null ? "" : ": " + qemuReason)
                + " (QEMU at the " + side.name().toLowerCase(java.util.Locale.ROOT) + ")");
        this.side = side;
        this.qemuStatus = qemuStatus;
    }

    public MigrationEvent.Side side() {
        return side;
    }

    /** QEMU's migration status: {@code failed} or {@code cancelled}. */
    public String qemuStatus() {
        return qemuStatus;
    }
}
