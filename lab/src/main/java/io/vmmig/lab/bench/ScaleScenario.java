package io.vmmig.lab.bench;

import io.vmmig.testkit.Workload;

/**
 * The guest and its writes for the side-by-side run (issue 14): RAM, qcow2 size, the written area, the hot set
 * rewritten during the migration, the guest's write size and rate. {@link #REAL} is the scale the earlier
 * side-by-side figures were taken at; {@link #SMALL} is the same scenario shrunk to check it end to end quickly.
 *
 * <p>The writes are {@code blockBytes} each: the test guest's verify reads 256 blocks at once into one buffer, so
 * 1 MiB blocks would need 256 MiB of guest RAM for it; 256 KiB blocks (one transfer chunk each) keep that at
 * 64 MiB. 14 writes/s of 256 KiB are 3.5 MiB/s (3.67 MB/s).
 *
 * <p>{@link #REAL_HEAVY} is {@link #REAL} with the hot set rewritten as fast as the guest can ({@code writesPerSecond}
 * 0): the hot set is pulled after the switchover while the guest writes flat out, which shows what the destination's
 * data path costs the guest (issue 14, item 2), the local data path beside the agent's ({@code --data-path agent}).
 */
public record ScaleScenario(String label, int ramMib, int diskMib, int writtenMib, int hotMib, int blockBytes,
                            int writesPerSecond) {
    public static final ScaleScenario REAL = new ScaleScenario("real", 256, 2048, 512, 256, 256 * 1024, 14);
    public static final ScaleScenario REAL_HEAVY = new ScaleScenario("real-heavy", 256, 2048, 512, 256, 256 * 1024, 0);
    public static final ScaleScenario SMALL = new ScaleScenario("small", 128, 128, 32, 16, 64 * 1024, 56);

    public ScaleScenario {
        if (hotMib <= 0 || hotMib > writtenMib || writtenMib > diskMib || ramMib < 64 || writesPerSecond < 0
                || blockBytes < 4096 || (1 << 20) % blockBytes != 0)
            throw new IllegalArgumentException("bad scale scenario " + label);
    }

    public static ScaleScenario named(String name) {
        return switch (name) {
            case "real" -> REAL;
            case "small" -> SMALL;
            case "real-heavy" -> REAL_HEAVY;
            default -> throw new IllegalArgumentException("--scale is real, real-heavy or small, not " + name);
        };
    }

    /** The guest's workload: one sequential prefill of the written area, then random writes over the hot set. */
    public Workload workload() {
        long blocks = ((long) writtenMib << 20) / blockBytes;
        long hot = ((long) hotMib << 20) / blockBytes;
        return Workload.defaults().withBlockSize(blockBytes).withBlocks(blocks).withHotSet(0, hot)
                .withPhases(Workload.Phase.PREFILL, Workload.Phase.HOT).withRate(writesPerSecond).withHeartbeatMs(20);
    }

    /** The same sizes for the plain-QEMU bench path (BenchRun). */
    public BenchSizes sizes() {
        return new BenchSizes(ramMib, diskMib, writtenMib, hotMib, writesPerSecond);
    }

    public double writeMibPerSecond() {
        return writesPerSecond * (double) blockBytes / (1 << 20);
    }

    public String describe() {
        if (writesPerSecond == 0)
            return String.format("%s: TCG test guest, %d MiB RAM, %d MiB qcow2 with %d MiB written (one sequential pass), then a "
                            + "%d MiB hot set rewritten in random %d KiB writes as fast as the guest can during the migration",
                    label, ramMib, diskMib, writtenMib, hotMib, blockBytes / 1024);
        return String.format("%s: TCG test guest, %d MiB RAM, %d MiB qcow2 with %d MiB written (one sequential pass), then a "
                        + "%d MiB hot set rewritten in random %d KiB writes at %d writes/s (%.2f MiB/s) during the migration",
                label, ramMib, diskMib, writtenMib, hotMib, blockBytes / 1024, writesPerSecond, writeMibPerSecond());
    }
}
