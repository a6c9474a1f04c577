package io.vmmig.agent.control;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One request on the agent's control socket (one JSON line; one request per connection). Fields not
 * used by an operation are null.
 *
 * @param op        what to do
 * @param id        migration id ({@code status}, {@code cancel}, {@code watch})
 * @param vm        {@code migrate}: a QMP socket path or the name of a VM in the agent's config
 * @param dest      {@code migrate}: the destination agent, {@code HOST[:PORT]} (default port 7410)
 * @param strategy  {@code migrate}: hybrid, precopy, mirror, mirror-wb, postcopy (default hybrid)
 * @param bandwidth {@code migrate}: push limit in bytes per second (null: unlimited)
 * @param threshold {@code migrate}: hybrid's write-count threshold (null: default)
 * @param chunkSize {@code migrate}: chunk size in bytes (null: default)
 * @param target    {@code migrate}: image path at the destination (null: the destination's image directory
 *                  and the source image's file name)
 * @param memory    {@code migrate}: the memory migration's settings asked for (null: the agent's)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ControlRequest(Op op, String id, String vm, String dest, String strategy, Long bandwidth,
                             Integer threshold, Integer chunkSize, String target, Memory memory) {

    public ControlRequest(Op op, String id, String vm, String dest, String strategy, Long bandwidth,
                          Integer threshold, Integer chunkSize, String target) {
        this(op, id, vm, dest, strategy, bandwidth, threshold, chunkSize, target, null);
    }

    /**
     * QEMU's memory migration settings a {@code migrate} asks for; each null one is the agent's
     * ({@code memory.*} in its configuration).
     *
     * @param maxBandwidth  {@code max-bandwidth}, bytes per second ({@code 9223372036853727232}: unlimited)
     * @param downtimeLimit {@code downtime-limit}, milliseconds
     * @param autoConverge  the {@code auto-converge} capability
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Memory(Long maxBandwidth, Long downtimeLimit, Boolean autoConverge) {
        /** Whether nothing is asked for. */
        public boolean empty() {
            return maxBandwidth == null && downtimeLimit == null && autoConverge == null;
        }
    }

    /** This request with memory settings (null or empty: the agent's). */
    public ControlRequest withMemory(Memory m) {
        return new ControlRequest(op, id, vm, dest, strategy, bandwidth, threshold, chunkSize, target,
                m == null || m.empty() ? null : m);
    }

    /** The operations of the control socket. */
    public enum Op {
        /** Start a migration and stream its events until it ends. */
        MIGRATE,
        /** One migration's status. */
        STATUS,
        /** Every migration this agent knows (running and finished). */
        LIST,
        /** Cancel a migration before its switchover. */
        CANCEL,
        /** Stream the events of a running migration until it ends. */
        WATCH
    }

    public static ControlRequest migrate(String vm, String dest, String strategy, Long bandwidth, Integer threshold,
                                         Integer chunkSize, String target) {
        return new ControlRequest(Op.MIGRATE, null, vm, dest, strategy, bandwidth, threshold, chunkSize, target);
    }

    public static ControlRequest status(String id) {
        return new ControlRequest(Op.STATUS, id, null, null, null, null, null, null, null);
    }

    public static ControlRequest list() {
        return new ControlRequest(Op.LIST, null, null, null, null, null, null, null, null);
    }

    public static ControlRequest cancel(String id) {
        return new ControlRequest(Op.CANCEL, id, null, null, null, null, null, null, null);
    }

    public static ControlRequest watch(String id) {
        return new ControlRequest(Op.WATCH, id, null, null, null, null, null, null, null);
    }
}
