package io.vmmig.lab.bench;

import java.util.Locale;

/**
 * The goals for hybrid in one scenario (heavy writes at 100 Mbit/s), each checked against the
 * medians of the runs and printed as met or NOT met with the figures behind it.
 */
public final class HybridGoals {
    private final ResultsTable table;
    private final BenchSizes sizes;

    public HybridGoals(ResultsTable table, BenchSizes sizes) {
        this.table = table;
        this.sizes = sizes;
    }

    /** A Markdown table: goal, what was measured, met or NOT met (or "not measured"). */
    public String markdown(BenchWorkload w, LinkProfile l) {
        StringBuilder b = new StringBuilder();
        b.append("Goals for hybrid, ").append(w.label()).append(" workload at ").append(l.label())
                .append(" (medians over the repeats):\n\n| goal | measured | met? |\n|---|---|---|\n");
        double hTotal = median(BenchStrategy.HYBRID, w, l, r -> r.totalMillis() / 1000.0);
        if (Double.isNaN(hTotal)) return b.append("| all | no successful hybrid run | NOT met |\n").toString();

        double pTotal = median(BenchStrategy.PRECOPY, w, l, r -> r.totalMillis() / 1000.0);
        row(b, "total time <= 1/3 of pre-copy's", Double.isNaN(pTotal) ? "no successful pre-copy run"
                : f("hybrid %.2f s / pre-copy %.2f s = %.2f", hTotal, pTotal, hTotal / pTotal),
                Double.isNaN(pTotal) ? null : hTotal <= pTotal / 3);

        for (BenchStrategy m : new BenchStrategy[] {BenchStrategy.MIRROR_BACKGROUND, BenchStrategy.MIRROR_WRITE_BLOCKING}) {
            double mTotal = median(m, w, l, r -> r.totalMillis() / 1000.0);
            boolean ran = table.runs().stream().anyMatch(r -> r.strategy() == m && r.workload() == w && r.link().equals(l));
            if (!ran) {
                row(b, "total time below " + m.label() + "'s", "not run", null);
            } else if (Double.isNaN(mTotal)) {
                row(b, "total time below " + m.label() + "'s", f("hybrid %.2f s; %s never finished (did not converge "
                        + "within %d s)", hTotal, m.label(), BenchRun.MIRROR_LIMIT.toSeconds()), true);
            } else {
                row(b, "total time below " + m.label() + "'s", f("hybrid %.2f s / %s %.2f s = %.2f", hTotal, m.label(),
                        mTotal, hTotal / mTotal), hTotal < mTotal);
            }
        }

        double wire = median(BenchStrategy.HYBRID, w, l, r -> (double) r.wireBytes());
        double ram = median(BenchStrategy.HYBRID, w, l, r -> (double) r.ramBytes());
        double unique = sizes.areaBytes() + ram;
        row(b, "bytes on the wire <= 1.1 x (unique data written + RAM)", f("%.1f MiB / (%d MiB area + %.1f MiB RAM) = %.2f",
                wire / MIB, sizes.areaMib(), ram / MIB, wire / unique), wire <= 1.1 * unique);

        double kept = median(BenchStrategy.HYBRID, w, l, r -> r.tputDuring() / r.tputBefore());
        double before = median(BenchStrategy.HYBRID, w, l, RunResult::tputBefore);
        double during = median(BenchStrategy.HYBRID, w, l, RunResult::tputDuring);
        row(b, "guest write throughput during >= 90 % of before", f("%.2f MiB/s during, %.2f before; per run "
                + "during/before %.0f %%", during / MIB, before / MIB, 100 * kept), Double.isNaN(kept) ? null : kept >= 0.9);

        double hDown = median(BenchStrategy.HYBRID, w, l, RunResult::qemuDowntimeMillis);
        double pDown = median(BenchStrategy.PRECOPY, w, l, RunResult::qemuDowntimeMillis);
        double hPause = median(BenchStrategy.HYBRID, w, l, r -> r.guestPauseMillis() < 0 ? Double.NaN : r.guestPauseMillis());
        double pPause = median(BenchStrategy.PRECOPY, w, l, r -> r.guestPauseMillis() < 0 ? Double.NaN : r.guestPauseMillis());
        long rtt = l.rtt().toMillis();
        row(b, "downtime within one RTT (" + rtt + " ms) of pre-copy's", Double.isNaN(pDown) ? "no successful pre-copy run"
                : f("QEMU: hybrid %.0f ms, pre-copy %.0f ms; guest-visible: hybrid %.0f ms, pre-copy %.0f ms",
                hDown, pDown, hPause, pPause), Double.isNaN(pDown) ? null : hDown <= pDown + rtt);
        return b.toString();
    }

    private static final double MIB = 1 << 20;

    private double median(BenchStrategy s, BenchWorkload w, LinkProfile l, java.util.function.ToDoubleFunction<RunResult> f) {
        return table.spread(s, w, l, f).median();
    }

    private static void row(StringBuilder b, String goal, String measured, Boolean met) {
        b.append("| ").append(goal).append(" | ").append(measured).append(" | ")
                .append(met == null ? "not measured" : met ? "met" : "NOT met").append(" |\n");
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
