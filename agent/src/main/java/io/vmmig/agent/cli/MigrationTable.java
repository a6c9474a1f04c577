package io.vmmig.agent.cli;

import io.vmmig.agent.control.MigrationProgress;
import io.vmmig.agent.control.MigrationStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Migrations as {@code vmmig list} (a table) and {@code vmmig status ID} (one migration in detail) print them. */
public final class MigrationTable {
    private static final String[] HEADER = {"ID", "ROLE", "VM", "PEER", "STRATEGY", "PHASE", "DISK", "STARTED"};

    private MigrationTable() {
    }

    /** A table with a header line, or a sentence when there is nothing to show. */
    public static String table(List<MigrationStatus> migrations) {
        if (migrations == null || migrations.isEmpty()) return "no migrations\n";
        List<String[]> rows = new ArrayList<>();
        rows.add(HEADER);
        for (MigrationStatus m : migrations) {
            rows.add(new String[] {text(m.id()), text(m.role()), text(m.vm()), text(m.peer()), text(m.strategy()),
                    ProgressLine.name(m.phase()), disk(m), text(m.startedAt())});
        }
        int[] widths = new int[HEADER.length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) widths[i] = Math.max(widths[i], row[i].length());
        }
        StringBuilder b = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                line.append(i == row.length - 1 ? row[i] : String.format(Locale.ROOT, "%-" + widths[i] + "s  ", row[i]));
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        return b.toString();
    }

    /** One migration, one field per line. */
    public static String detail(MigrationStatus m) {
        StringBuilder b = new StringBuilder();
        field(b, "migration", m.id());
        field(b, "role", m.role());
        field(b, "vm", m.vm());
        field(b, "peer", m.peer());
        field(b, "peer cert", m.peerSubject());
        field(b, "caller", m.caller());
        field(b, "strategy", m.strategy());
        field(b, "phase", m.phase() == null ? null : ProgressLine.name(m.phase()) + " (" + ProgressLine.meaning(m.phase()) + ")");
        field(b, "guest", m.guest() == null ? null : m.guest().describe());
        field(b, "started", m.startedAt());
        MigrationProgress p = m.progress();
        if (p != null) {
            field(b, "elapsed", ProgressLine.duration(p.elapsedMillis() / 1000));
            field(b, "disk", ByteQuantity.format(p.diskBytes()) + ": " + ByteQuantity.format(p.pushedBytes()) + " pushed, "
                    + ByteQuantity.format(p.pulledBytes()) + " pulled, " + ByteQuantity.format(p.remainingBytes()) + " left");
            if (p.ramTotal() > 0) {
                field(b, "ram", ByteQuantity.format(p.ramTransferred()) + " transferred, "
                        + ByteQuantity.format(p.ramRemaining()) + " remaining of " + ByteQuantity.format(p.ramTotal()));
            }
            field(b, "rate", ByteQuantity.format(Math.max(0, p.bytesPerSecond())) + "/s");
            if (p.etaSeconds() >= 0 && (m.phase() == null || !m.phase().terminal())) {
                field(b, "eta", ProgressLine.duration(p.etaSeconds()));
            }
        }
        field(b, "error", m.error());
        field(b, "waiting", m.waitingFor() == null ? null : "for the " + m.waitingFor() + " (connection lost; the pull goes on when it is back)");
        return b.toString();
    }

    private static String disk(MigrationStatus m) {
        MigrationProgress p = m.progress();
        if (p == null || p.diskBytes() <= 0) return "-";
        long moved = Math.max(0, p.diskBytes() - p.remainingBytes());
        return String.format(Locale.ROOT, "%d%% of %s", Math.min(100, moved * 100 / p.diskBytes()), ByteQuantity.format(p.diskBytes()));
    }

    private static void field(StringBuilder b, String name, String value) {
        if (value != null) b.append(String.format(Locale.ROOT, "%-11s%s\n", name + ":", value));
    }

    private static String text(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }
}
