package io.vmmig.strategy.qemu;

import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.MigrateSetCapabilities;
import io.vmmig.qmp.command.QmpCommands.MigrateSetParameters;
import io.vmmig.qmp.command.QmpCommands.QueryMigrateCapabilities;
import io.vmmig.qmp.command.QmpCommands.QueryMigrateParameters;
import io.vmmig.qmp.command.QmpResults.MigrationCapability;
import io.vmmig.qmp.command.QmpResults.MigrationParameters;
import java.util.List;

/**
 * The settings of QEMU's memory migration that a user would otherwise have to know, which vmmig sets on
 * the source QEMU right before {@code migrate} and reports as QEMU reads them back:
 * <ul>
 *   <li>{@code max-bandwidth} (bytes/s): QEMU's own default caps memory at 128 MiB/s, slower than a LAN;
 *       vmmig sets the link budget ({@code --bandwidth}) or {@link #UNLIMITED};</li>
 *   <li>{@code downtime-limit} (ms): the longest stop QEMU aims at when it decides to switch over;</li>
 *   <li>the {@code auto-converge} capability (opt-in): QEMU throttles the guest's vCPUs when its memory is
 *       dirtied faster than the link carries it, so that RAM alone can converge.</li>
 * </ul>
 *
 * @param maxBandwidth        {@code max-bandwidth} in bytes per second, at least 1 ({@link #UNLIMITED}: no cap)
 * @param downtimeLimitMillis {@code downtime-limit} in milliseconds, 1 to {@link #MAX_DOWNTIME_LIMIT_MILLIS}
 * @param autoConverge        whether {@code auto-converge} is on
 */
public record MemorySettings(long maxBandwidth, long downtimeLimitMillis, boolean autoConverge) {
    /** No cap: the value libvirt sets for "unlimited" ({@code INT64_MAX} rounded down to whole MiB/s). */
    public static final long UNLIMITED = (Long.MAX_VALUE >> 20) << 20;
    /** QEMU's own default {@code downtime-limit}, which vmmig keeps unless told otherwise. */
    public static final long DEFAULT_DOWNTIME_LIMIT_MILLIS = 300;
    /** QEMU refuses a {@code downtime-limit} above 2000 s. */
    public static final long MAX_DOWNTIME_LIMIT_MILLIS = 2_000_000;

    public MemorySettings {
        if (maxBandwidth < 1) throw new IllegalArgumentException("max-bandwidth must be at least 1 byte/s, got " + maxBandwidth);
        if (downtimeLimitMillis < 1 || downtimeLimitMillis > MAX_DOWNTIME_LIMIT_MILLIS)
            throw new IllegalArgumentException("downtime-limit must be 1 to " + MAX_DOWNTIME_LIMIT_MILLIS + " ms, got "
                    + downtimeLimitMillis);
    }

    /** Memory at the link's full rate, QEMU's downtime target, no throttling. */
    public static MemorySettings defaults() {
        return new MemorySettings(UNLIMITED, DEFAULT_DOWNTIME_LIMIT_MILLIS, false);
    }

    public MemorySettings withMaxBandwidth(long bytesPerSecond) {
        return new MemorySettings(bytesPerSecond, downtimeLimitMillis, autoConverge);
    }

    public MemorySettings withDowntimeLimit(long millis) {
        return new MemorySettings(maxBandwidth, millis, autoConverge);
    }

    public MemorySettings withAutoConverge(boolean on) {
        return new MemorySettings(maxBandwidth, downtimeLimitMillis, on);
    }

    public boolean unlimited() {
        return maxBandwidth >= UNLIMITED;
    }

    /** For people: {@code max-bandwidth unlimited, downtime-limit 300 ms, auto-converge off}. */
    public String describe() {
        return "max-bandwidth " + (unlimited() ? "unlimited" : rate(maxBandwidth)) + ", downtime-limit " + downtimeLimitMillis
                + " ms, auto-converge " + (autoConverge ? "on" : "off");
    }

    private static String rate(long bytesPerSecond) {
        if (bytesPerSecond >= 1L << 20) return String.format("%.1f MiB/s", bytesPerSecond / 1048576.0);
        if (bytesPerSecond >= 1L << 10) return String.format("%.1f KiB/s", bytesPerSecond / 1024.0);
        return bytesPerSecond + " B/s";
    }

    /** The commands that put these settings on a QEMU: one {@code migrate-set-parameters}, one {@code migrate-set-capabilities}. */
    MigrateSetParameters parametersCommand() {
        return MigrateSetParameters.bandwidthAndDowntime(maxBandwidth, downtimeLimitMillis);
    }

    MigrateSetCapabilities capabilitiesCommand() {
        return new MigrateSetCapabilities(List.of(new MigrationCapability("auto-converge", autoConverge)));
    }

    /**
     * Sets these on {@code qmp}'s QEMU (no migration may be running) and reads them back; what was there
     * before is kept in the answer, to {@link Applied#restore restore} after a migration that did not switch over.
     */
    public Applied apply(QmpClient qmp) {
        MemorySettings before = read(qmp);
        qmp.call(parametersCommand());
        qmp.call(capabilitiesCommand());
        return new Applied(before, read(qmp));
    }

    /** The memory settings of {@code qmp}'s QEMU as it reports them. */
    public static MemorySettings read(QmpClient qmp) {
        MigrationParameters p = qmp.call(new QueryMigrateParameters());
        boolean ac = false;
        for (MigrationCapability c : qmp.call(new QueryMigrateCapabilities()))
            if (c.capability().equals("auto-converge")) ac = c.state();
        return of(p, ac);
    }

    /** From {@code query-migrate-parameters} and the {@code auto-converge} capability's state. */
    static MemorySettings of(MigrationParameters p, boolean autoConverge) {
        long bw = p.maxBandwidth() == null || p.maxBandwidth() <= 0 ? UNLIMITED : Math.min(p.maxBandwidth(), UNLIMITED);
        long dl = p.downtimeLimit() == null ? DEFAULT_DOWNTIME_LIMIT_MILLIS
                : Math.max(1, Math.min(p.downtimeLimit(), MAX_DOWNTIME_LIMIT_MILLIS));
        return new MemorySettings(bw, dl, autoConverge);
    }

    /** Settings put on a QEMU: what it had before, and what it reports now. */
    public record Applied(MemorySettings before, MemorySettings now) {
        /** Puts the settings of before back (after a failure before the switchover). Best effort: false if QEMU refused. */
        public boolean restore(QmpClient qmp) {
            try {
                qmp.call(before.parametersCommand());
                qmp.call(before.capabilitiesCommand());
                return true;
            } catch (RuntimeException e) {
                return false;
            }
        }
    }
}
