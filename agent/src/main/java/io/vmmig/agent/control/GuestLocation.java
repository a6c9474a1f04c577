package io.vmmig.agent.control;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Locale;

/**
 * Where the guest runs and in what state, decided from QEMU's own run state ({@code query-status})
 * on the side(s) this agent can ask, never from what the migration meant to do. Shown by every
 * failure, {@code vmmig status} and the JSON events.
 *
 * @param host     where the guest is
 * @param state    running, paused, or an operator must look (both or neither side runs it, QEMU unreachable)
 * @param evidence the run states it was decided from, e.g. {@code source QEMU: running}
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GuestLocation(Host host, State state, String evidence) {

    public enum Host { SOURCE, DESTINATION, UNKNOWN }

    public enum State { RUNNING, PAUSED, NEEDS_OPERATOR }

    /**
     * From the run states QEMU reported: {@code sourceStatus} and {@code destinationStatus} are
     * {@code query-status}'s {@code status}, {@code "gone"} when the QEMU exited or its QMP socket is
     * unreachable, or null when this agent cannot ask that side.
     */
    public static GuestLocation of(String sourceStatus, String destinationStatus) {
        String evidence = evidence(sourceStatus, destinationStatus);
        boolean srcRuns = "running".equals(sourceStatus);
        boolean dstRuns = "running".equals(destinationStatus);
        if (srcRuns && dstRuns) return new GuestLocation(Host.UNKNOWN, State.NEEDS_OPERATOR, evidence + ": QEMU runs the guest at both ends");
        if (srcRuns) return new GuestLocation(Host.SOURCE, State.RUNNING, evidence);
        if (dstRuns) return new GuestLocation(Host.DESTINATION, State.RUNNING, evidence);
        // postmigrate: the source's memory migration completed; the guest was handed to the destination
        if ("postmigrate".equals(sourceStatus) && destinationStatus == null)
            return new GuestLocation(Host.DESTINATION, State.NEEDS_OPERATOR, evidence + " (handed over; check the destination)");
        if (paused(sourceStatus) && (destinationStatus == null || !paused(destinationStatus) && !"running".equals(destinationStatus)))
            return new GuestLocation(Host.SOURCE, State.PAUSED, evidence);
        if (paused(destinationStatus) && !"inmigrate".equals(destinationStatus))
            return new GuestLocation(Host.DESTINATION, State.PAUSED, evidence);
        return new GuestLocation(Host.UNKNOWN, State.NEEDS_OPERATOR, evidence);
    }

    /**
     * The destination agent's view of a migration whose guest never ran here (its QEMU still in
     * {@code inmigrate}, or gone before the memory arrived): the guest stayed at the source, whose
     * agent reports the source QEMU's own state.
     */
    public static GuestLocation neverArrived(String destinationStatus) {
        return new GuestLocation(Host.SOURCE, State.RUNNING, "destination QEMU: " + destinationStatus
                + ", the guest never ran here; the source agent has the source QEMU's state");
    }

    /** Run states in which QEMU holds the guest stopped (paused by someone, at the switchover, or after an error). */
    private static boolean paused(String s) {
        return s != null && switch (s) {
            case "paused", "finish-migrate", "prelaunch", "suspended", "io-error", "internal-error", "guest-panicked",
                    "watchdog", "debug", "save-vm", "restore-vm", "colo" -> true;
            default -> false;
        };
    }

    private static String evidence(String src, String dst) {
        if (src != null && dst != null) return "source QEMU: " + src + ", destination QEMU: " + dst;
        if (src != null) return "source QEMU: " + src;
        if (dst != null) return "destination QEMU: " + dst;
        return "no QEMU could be asked";
    }

    /** For people: {@code the guest runs at the source (source QEMU: running)}. */
    public String describe() {
        String where = host.name().toLowerCase(Locale.ROOT);
        return switch (state) {
            case RUNNING -> "the guest runs at the " + where + " (" + evidence + ")";
            case PAUSED -> "the guest is PAUSED at the " + where + " (" + evidence + ")";
            case NEEDS_OPERATOR -> host == Host.UNKNOWN
                    ? "where the guest runs needs the operator (" + evidence + ")"
                    : "the guest is at the " + where + " and needs the operator (" + evidence + ")";
        };
    }
}
