package io.vmmig.lab.bench;

import io.vmmig.testkit.Workload;

/**
 * The guest's write patterns, all over the same written area: idle after the prefill, steady random
 * writes over a hot set, and unthrottled random writes over the whole area (faster than a 100 Mbit/s link).
 */
public enum BenchWorkload {
    IDLE("idle", "prefill, then no writes"),
    STEADY("steady", "prefill, then random 4 KiB writes over a hot set at a fixed rate"),
    HEAVY("heavy", "prefill, then unthrottled random 4 KiB writes over the whole area");

    /** Block size of every workload. */
    public static final int BLOCK = 4096;

    private final String label;
    private final String description;

    BenchWorkload(String label, String description) {
        this.label = label;
        this.description = description;
    }

    public String label() {
        return label;
    }

    /** The testkit workload for an area of {@code areaMib}, a hot set of {@code hotMib} and {@code rate} writes/s. */
    public Workload workload(BenchSizes sizes) {
        long blocks = (long) sizes.areaMib() * (1 << 20) / BLOCK;
        long hot = (long) sizes.hotMib() * (1 << 20) / BLOCK;
        Workload base = Workload.defaults().withBlocks(blocks).withHotSet(0, hot).withHeartbeatMs(20);
        return switch (this) {
            case IDLE -> base.withPhases(Workload.Phase.PREFILL, Workload.Phase.IDLE);
            case STEADY -> base.withPhases(Workload.Phase.PREFILL, Workload.Phase.HOT).withRate(sizes.steadyRate());
            case HEAVY -> base.withPhases(Workload.Phase.PREFILL, Workload.Phase.RANDOM).withRate(0);
        };
    }

    /** One line naming the parameters, printed with the results. */
    public String describe(BenchSizes sizes) {
        return switch (this) {
            case IDLE -> String.format("%s: %s; area %d MiB", label, description, sizes.areaMib());
            case STEADY -> String.format("%s: %s; area %d MiB, hot set %d MiB, %d writes/s (%.1f MiB/s)", label,
                    description, sizes.areaMib(), sizes.hotMib(), sizes.steadyRate(),
                    sizes.steadyRate() * (double) BLOCK / (1 << 20));
            case HEAVY -> String.format("%s: %s; area %d MiB, rate unlimited (as fast as the TCG guest writes)",
                    label, description, sizes.areaMib());
        };
    }
}
