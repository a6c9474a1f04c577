package io.vmmig.agent.config;

import io.vmmig.strategy.qemu.MemorySettings;

/**
 * What a source agent sets on QEMU's memory migration ({@code memory.*} in its configuration), and how a
 * request's options override it: {@link #settingsFor}.
 *
 * @param maxBandwidth        {@code memory.max-bandwidth} in bytes/s ({@link #UNLIMITED} for {@code unlimited}), or
 *                            null: the request's link budget ({@code --bandwidth}), else unlimited
 * @param downtimeLimitMillis {@code memory.downtime-limit}
 * @param autoConverge        {@code memory.auto-converge}
 */
public record MemoryPolicy(Long maxBandwidth, long downtimeLimitMillis, boolean autoConverge) {
    public static final long UNLIMITED = MemorySettings.UNLIMITED;
    public static final long DEFAULT_DOWNTIME_LIMIT_MILLIS = MemorySettings.DEFAULT_DOWNTIME_LIMIT_MILLIS;
    public static final long MAX_DOWNTIME_LIMIT_MILLIS = MemorySettings.MAX_DOWNTIME_LIMIT_MILLIS;

    public MemoryPolicy {
        if (maxBandwidth != null && maxBandwidth < 1) throw new IllegalArgumentException("max-bandwidth must be at least 1, got " + maxBandwidth);
        if (downtimeLimitMillis < 1 || downtimeLimitMillis > MAX_DOWNTIME_LIMIT_MILLIS)
            throw new IllegalArgumentException("downtime-limit must be 1 to " + MAX_DOWNTIME_LIMIT_MILLIS + " ms, got " + downtimeLimitMillis);
    }

    /** Nothing configured: memory at the link budget or unlimited, QEMU's downtime target, no throttling. */
    public static MemoryPolicy defaults() {
        return new MemoryPolicy(null, DEFAULT_DOWNTIME_LIMIT_MILLIS, false);
    }

    /**
     * The settings for one migration. Each option of the request (null: not given) beats the configuration:
     * {@code max-bandwidth} is {@code --memory-bandwidth}, else the link budget {@code --bandwidth} (memory never
     * takes more than the whole budget; the source's LinkGovernor then keeps memory and the push inside it
     * together), else {@code memory.max-bandwidth}, else unlimited (QEMU's own default, 128 MiB/s, would hold
     * memory below a LAN's rate).
     *
     * @param linkBudget       {@code --bandwidth}, bytes/s
     * @param memoryBandwidth  {@code --memory-bandwidth}, bytes/s ({@link #UNLIMITED}: unlimited)
     * @param downtimeLimit    {@code --downtime-limit}, ms
     * @param autoConverge     {@code --auto-converge}
     */
    public MemorySettings settingsFor(Long linkBudget, Long memoryBandwidth, Long downtimeLimit, Boolean autoConverge) {
        long bw = memoryBandwidth != null ? memoryBandwidth
                : linkBudget != null ? linkBudget
                : maxBandwidth != null ? maxBandwidth
                : UNLIMITED;
        return new MemorySettings(Math.min(bw, UNLIMITED), downtimeLimit != null ? downtimeLimit : downtimeLimitMillis,
                autoConverge != null ? autoConverge : this.autoConverge);
    }
}
