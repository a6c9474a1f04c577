package io.vmmig.lab.bench;

import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.MirrorSource;

/** The five ways a disk is moved in the benchmark: the engine's strategies, mirror in both of its modes. */
public enum BenchStrategy {
    HYBRID("hybrid", Strategy.HYBRID, null),
    PRECOPY("precopy", Strategy.PRECOPY, null),
    MIRROR_BACKGROUND("mirror-bg", Strategy.MIRROR, MirrorSource.Mode.BACKGROUND),
    MIRROR_WRITE_BLOCKING("mirror-wb", Strategy.MIRROR, MirrorSource.Mode.WRITE_BLOCKING),
    POSTCOPY("postcopy", Strategy.POSTCOPY, null);

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

    /** The mirror job's copy mode, or null for the chunk-transfer strategies. */
    public MirrorSource.Mode mirrorMode() {
        return mirrorMode;
    }
}
