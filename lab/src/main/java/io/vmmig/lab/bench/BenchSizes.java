package io.vmmig.lab.bench;

/**
 * Sizes shared by every run: guest RAM, disk, the written area, the hot set and the steady write rate (0: as fast as
 * the guest can, the real-heavy scale).
 */
public record BenchSizes(int ramMib, int diskMib, int areaMib, int hotMib, int steadyRate) {
    public BenchSizes {
        if (hotMib <= 0 || hotMib > areaMib || areaMib > diskMib || ramMib < 64 || steadyRate < 0)
            throw new IllegalArgumentException("need 0 < hot <= area <= disk, ram >= 64 MiB and rate >= 0; got ram "
                    + ramMib + ", disk " + diskMib + ", area " + areaMib + ", hot " + hotMib + ", rate " + steadyRate);
    }

    public static BenchSizes defaults() {
        return new BenchSizes(96, 32, 16, 1, 1000);
    }

    public long areaBytes() {
        return (long) areaMib << 20;
    }
}
