package io.vmmig.strategy.qemu;

import java.util.Locale;

/**
 * What happened in a migration, as the engine says it (into the {@link MigrationTimeline}, whose
 * listeners the agent uses to decide its phases and whether a QEMU may be stopped). Each names the
 * side it happens on. {@link #guestAtDestination()} is the one fact the keep-or-kill decisions use.
 */
public enum MigrationEvent {
    /** Source: the driver started. */
    STARTED(Side.SOURCE),
    /** Source: the disk strategy started (dirty tracking, exports, push). */
    DISK_STARTED(Side.SOURCE),
    /** Source: the first chunk push began (hybrid, pre-copy). */
    PUSH_STARTED(Side.SOURCE),
    /** Source: QEMU's mirror job connected to the destination's export (mirror). */
    MIRROR_CONNECTED(Side.SOURCE),
    /** Source: QEMU's mirror job started (mirror). */
    MIRROR_STARTED(Side.SOURCE),
    /** Source: the mirror job is in sync (mirror). */
    MIRROR_READY(Side.SOURCE),
    /** Source: vmmig issued {@code migrate} (QEMU's memory migration runs). */
    MEMORY_STARTED(Side.SOURCE),
    /** Source: the background push holds new sends so memory's last rounds have the link ({@link SwitchoverYield}). */
    PUSH_HELD(Side.SOURCE),
    /** Source: QEMU paused the guest before the switchover; storage hands over now. */
    PAUSED(Side.SOURCE),
    /** Source: pre-copy's last round went out while paused. */
    FINAL_ROUND_SENT(Side.SOURCE),
    /** Source: the remaining set went to the destination while paused. */
    REMAINING_SENT(Side.SOURCE),
    /** Source: the mirror job completed while paused (mirror). */
    MIRROR_COMPLETED(Side.SOURCE),
    /** Source: QEMU reported the memory migration completed: the guest now runs at the destination. */
    SWITCHED_OVER(Side.SOURCE),
    /** Either side: the destination holds the whole disk. */
    DISK_COMPLETE(Side.EITHER),
    /** Source: the source QEMU no longer serves anything to the destination (it may quit). */
    SOURCE_RELEASED(Side.SOURCE),
    /** Destination: its disk side is ready (export or NBD server up). */
    DESTINATION_READY(Side.DESTINATION),
    /** Destination: QEMU listens for the memory migration. */
    INCOMING(Side.DESTINATION),
    /** Destination: the incoming memory migration completed: the guest runs here. */
    RUNNING_AT_DESTINATION(Side.DESTINATION),
    /** Destination: the guest's disk node points at the local image; the agent is out of its I/O path. */
    PIVOTED(Side.DESTINATION),
    /** Destination: the mirror's NBD export was removed (mirror). */
    EXPORT_REMOVED(Side.DESTINATION),
    /** Destination: the migration ended here. */
    FINISHED(Side.DESTINATION);

    /** Where an event happens. */
    public enum Side { SOURCE, DESTINATION, EITHER }

    private final Side side;

    MigrationEvent(Side side) {
        this.side = side;
    }

    public Side side() {
        return side;
    }

    /** Whether, once this happened, the guest runs at the destination (never to be killed there). */
    public boolean guestAtDestination() {
        return this == SWITCHED_OVER || this == RUNNING_AT_DESTINATION || this == PIVOTED;
    }

    /** The name in reports and logs: {@code running-at-destination}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
