package io.vmmig.lab.bench;

import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.MirrorSource;

/**
 * The five ways a disk is moved in the benchmark (the engine's strategies, mirror in both of its modes), and
 * the reference that moves none: {@link #MEMORY_ONLY}, QEMU's memory migration over shared storage
 * ({@link SharedDisk}), whose downtime is QEMU's own on the link.
 */
public enum BenchStrategy {
    HYBRID("hybrid", Strategy.HYBRID, null),
    PRECOPY("precopy", Strategy.PRECOPY, null),
    MIRROR_BACKGROUND("mirror-bg", Strategy.MIRROR, MirrorSource.Mode.BACKGROUND),
    MIRROR_WRITE_BLOCKING("mirror-wb", Strategy.MIRROR, MirrorSource.Mode.WRITE_BLOCKING),
    POSTCOPY("postcopy", Strategy.POSTCOPY, null),
    /** Not a strategy: the memory migration alone (both QEMUs on the same image), the downtime reference. Only when asked for. */
    MEMORY_ONLY("memory-only", null, null);

    private final String label;
    private final Strategy strategy;
    private final MirrorSource.Mode mirrorMode;

    BenchStrategy(String label, Strategy strategy, MirrorSource.Mode mirrorMode) {
        this.label = label;
        this.strategy = strategy;
        this.mirrorMode = mirrorMode;
    }

    public String label() {
        return label;
    }

    public Strategy strategy() {
        return strategy;
    }

    /** The strategies the matrix runs by default: all but the {@link #MEMORY_ONLY} reference. */
    public static java.util.List<BenchStrategy> matrix() {
        return java.util.Arrays.stream(values()).filter(s -> s != MEMORY_ONLY).toList();
    }

    /** Whether vmmig moves the disk in this run (false for the {@link #MEMORY_ONLY} reference). */
    public boolean movesDisk() {
        return this != MEMORY_ONLY;
    }

    /** The mirror job's copy mode, or null for the chunk-transfer strategies. */
    public MirrorSource.Mode mirrorMode() {
        return mirrorMode;
    }
}
