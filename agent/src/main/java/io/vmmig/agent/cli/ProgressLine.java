package io.vmmig.agent.cli;

import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationProgress;
import java.util.Locale;

/**
 * One progress sample as one line: elapsed time, phase, disk pushed and left (after the switchover: pulled
 * and left), RAM percentage while memory moves, rate, ETA.
 */
public final class ProgressLine {
    private ProgressLine() {
    }

    public static String format(MigrationPhase phase, MigrationProgress p) {
        StringBuilder b = new StringBuilder();
        b.append(elapsed(p.elapsedMillis())).append(' ').append(String.format(Locale.ROOT, "%-9s", name(phase)));
        if (phase != null && phase.switchedOver()) {
            b.append(" disk ").append(ByteQuantity.format(p.pulledBytes())).append(" pulled, ")
                    .append(ByteQuantity.format(p.remainingBytes())).append(" left");
        } else {
            b.append(" disk ").append(ByteQuantity.format(p.pushedBytes())).append(" pushed, ")
                    .append(ByteQuantity.format(p.remainingBytes())).append(" left");
            if (p.ramTotal() > 0 && (p.ramTransferred() > 0 || phase == MigrationPhase.MEMORY)) {
                long done = Math.max(0, Math.min(p.ramTotal(), p.ramTotal() - p.ramRemaining()));
                b.append(String.format(Locale.ROOT, " | RAM %d%%", done * 100 / p.ramTotal()));
            }
        }
        b.append(" | ").append(ByteQuantity.format(Math.max(0, p.bytesPerSecond()))).append("/s");
        b.append(" | ETA ").append(p.etaSeconds() < 0 ? "?" : duration(p.etaSeconds()));
        boolean switched = phase != null && phase.switchedOver();
        for (MigrationProgress.Disk d : p.disks()) {   // each disk apart, on its own line under the totals
            b.append(System.lineSeparator()).append("           ").append(d.name()).append(": ");
            if (switched) b.append(ByteQuantity.format(d.pulledBytes())).append(" pulled, ");
            else b.append(ByteQuantity.format(d.pushedBytes())).append(" pushed, ");
            b.append(ByteQuantity.format(d.remainingBytes())).append(" left");
        }
        return b.toString();
    }

    /** {@code [  12.3s]}: the prefix of every line about a migration. */
    public static String elapsed(long millis) {
        return String.format(Locale.ROOT, "[%6.1fs]", millis / 1000.0);
    }

    /** {@code 0:07}, {@code 12:30}, {@code 1:02:03}. */
    public static String duration(long seconds) {
        long h = seconds / 3600;
        long m = seconds / 60 % 60;
        long s = seconds % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, s) : String.format(Locale.ROOT, "%d:%02d", m, s);
    }

    /** The phase as the CLI prints it. */
    public static String name(MigrationPhase phase) {
        return phase == null ? "-" : phase.name().toLowerCase(Locale.ROOT);
    }

    /** What a phase means, for the line that announces it. */
    public static String meaning(MigrationPhase phase) {
        return switch (phase) {
            case PREPARING -> "checking the VM, preparing the destination";
            case PUSHING -> "pushing the disk";
            case MEMORY -> "QEMU migrates memory, disk pushes go on";
            case CUTOVER -> "source paused for the switchover";
            case PULLING -> "the guest runs at the destination and pulls what is left";
            case FINISHING -> "the destination holds the whole disk, releasing the source";
            case COMPLETED -> "done";
            case FAILED -> "failed; the error says where the guest runs";
            case CANCELLED -> "cancelled before the switchover; the error says where the guest runs";
        };
    }
}
