package io.vmmig.strategy;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How a disk is moved beside QEMU's memory migration. */
public enum Strategy {
    /** Push before cutover skipping hot chunks, pull the rest after, hottest first (seed 002). */
    HYBRID,
    /** Iterative dirty-bitmap rounds until converged or an iteration limit, last round while paused. */
    PRECOPY,
    /** QEMU blockdev-mirror to the destination's NBD export, as libvirt --copy-storage-all does. */
    MIRROR,
    /** Nothing before cutover; everything pulled after. */
    POSTCOPY;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a CLI name (hybrid, precopy, mirror, postcopy), with an error naming the choices. */
    public static Strategy parse(String s) {
        for (Strategy v : values()) if (v.cliName().equals(s.toLowerCase(Locale.ROOT))) return v;
        throw new IllegalArgumentException("unknown strategy '" + s + "': choose one of "
                + Arrays.stream(values()).map(Strategy::cliName).collect(Collectors.joining(", ")));
    }
}
