package io.vmmig.lab.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.function.ToDoubleFunction;

/**
 * The benchmark's results as a Markdown table (median with min-max per strategy, workload and link),
 * the hybrid ratios for the heavy workload, and a CSV with one row per run.
 */
public final class ResultsTable {
    private static final double MIB = 1 << 20;

    private final List<RunResult> runs;
    private final BenchSizes sizes;

    public ResultsTable(List<RunResult> runs, BenchSizes sizes) {
        this.runs = List.copyOf(runs);
        this.sizes = sizes;
    }

    /**
     * Bytes that had to cross in a scenario: the written area plus the smallest RAM transfer any
     * strategy needed in it (memory is moved by QEMU the same way for all of them).
     */
    public long mustCross(BenchWorkload w, LinkProfile l) {
        OptionalLong ram = runs.stream().filter(r -> r.ok() && r.workload() == w && r.link().equals(l))
                .mapToLong(RunResult::ramBytes).min();
        return sizes.areaBytes() + ram.orElse(0);
    }

    private List<RunResult> of(BenchStrategy s, BenchWorkload w, LinkProfile l) {
        return runs.stream().filter(r -> r.strategy() == s && r.workload() == w && r.link().equals(l)).toList();
    }

    /** Every run, in the order they were made. */
    public List<RunResult> runs() {
        return runs;
    }

    /** {@code f} over the successful runs of one strategy in one scenario. */
    Spread spread(BenchStrategy s, BenchWorkload w, LinkProfile l, ToDoubleFunction<RunResult> f) {
        return spread(of(s, w, l), f);
    }

    private static Spread spread(List<RunResult> rs, ToDoubleFunction<RunResult> f) {
        List<Double> v = new ArrayList<>();
        for (RunResult r : rs) if (r.ok()) v.add(f.applyAsDouble(r));
        return Spread.of(v);
    }

    /** The Markdown table, grouped by workload and link, in the order the runs were made. */
    public String markdown() {
        StringBuilder b = new StringBuilder();
        b.append("| workload | link | strategy | ok | total s | cutover s | QEMU downtime ms | guest pause ms"
                + " | guest pause - QEMU downtime ms | 1 RTT ms | wire MiB (to dst + to src) | link fill (overall / disk phase) % | disk MiB | RAM MiB | guest MiB/s before | during | after"
                + " | on-demand pulls | pull wait ms median | pull wait ms max | limit s | total/limit | verify |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Scenario sc : scenarios()) {
            double limit = sc.link().physicalLimitSeconds(mustCross(sc.workload(), sc.link()));
            for (BenchStrategy s : strategies()) {
                List<RunResult> rs = of(s, sc.workload(), sc.link());
                if (rs.isEmpty()) continue;
                long ok = rs.stream().filter(RunResult::ok).count();
                long verified = rs.stream().filter(r -> r.ok() && r.verify().startsWith("VERIFY OK")).count();
                boolean limitHit = rs.stream().anyMatch(RunResult::iterationLimitHit);
                b.append("| ").append(sc.workload().label()).append(" | ").append(sc.link().label()).append(" | ")
                        .append(s.label()).append(limitHit ? " (iteration limit hit)" : "").append(" | ")
                        .append(ok).append('/').append(rs.size()).append(" | ")
                        .append(spread(rs, r -> r.totalMillis() / 1000.0).format("%.2f")).append(" | ")
                        .append(spread(rs, r -> r.cutoverMillis() / 1000.0).format("%.2f")).append(" | ")
                        .append(spread(rs, r -> r.qemuDowntimeMillis()).format("%.0f")).append(" | ")
                        .append(spread(rs, r -> r.guestPauseMillis() < 0 ? Double.NaN : r.guestPauseMillis()).format("%.0f")).append(" | ")
                        .append(spread(rs, RunResult::pauseBeyondDowntimeMillis).format("%.0f")).append(" | ")
                        .append(sc.link().rtt().isZero() ? "-" : Long.toString(sc.link().rtt().toMillis())).append(" | ")
                        .append(spread(rs, r -> r.wireBytes() / MIB).format("%.1f")).append(" (")
                        .append(spread(rs, r -> r.wireToDestination() / MIB).format("%.1f")).append(" + ")
                        .append(spread(rs, r -> r.wireToSource() / MIB).format("%.1f")).append(") | ")
                        .append(spread(rs, r -> r.linkFill().overall() * 100).format("%.0f")).append(" / ")
                        .append(spread(rs, r -> r.linkFill().diskPhase() * 100).format("%.0f")).append(" | ")
                        .append(spread(rs, r -> r.diskBytesMoved() / MIB).format("%.1f")).append(" | ")
                        .append(spread(rs, r -> r.ramBytes() / MIB).format("%.1f")).append(" | ")
                        .append(spread(rs, r -> r.tputBefore() / MIB).format("%.2f")).append(" | ")
                        .append(spread(rs, r -> r.tputDuring() / MIB).format("%.2f")).append(" | ")
                        .append(spread(rs, r -> r.tputAfter() / MIB).format("%.2f")).append(" | ")
                        .append(spread(rs, r -> r.onDemandPulls()).format("%.0f")).append(" | ")
                        .append(spread(rs, RunResult::onDemandMedianMillis).format("%.1f")).append(" | ")
                        .append(spread(rs, RunResult::onDemandMaxMillis).format("%.1f")).append(" | ")
                        .append(Double.isNaN(limit) ? "-" : String.format(Locale.ROOT, "%.2f", limit)).append(" | ")
                        .append(Double.isNaN(limit) ? "-" : spread(rs, r -> r.totalMillis() / 1000.0 / limit).format("%.2f"))
                        .append(" | ").append(verified).append('/').append(ok).append(" |\n");
            }
        }
        List<RunResult> failed = runs.stream().filter(r -> !r.ok()).toList();
        if (!failed.isEmpty()) {
            b.append("\nFailed runs:\n\n");
            for (RunResult r : failed)
                b.append("- ").append(r.workload().label()).append(" / ").append(r.link().label()).append(" / ")
                        .append(r.strategy().label()).append(" #").append(r.repeat()).append(": ")
                        .append(r.failure().replace('\n', ' ')).append('\n');
        }
        return b.toString();
    }

    /**
     * The hybrid ratios of one scenario (heavy writes at 100 Mbit/s in the benchmark): hybrid over each
     * of the other strategies for total time, bytes on the wire and guest throughput during migration.
     */
    public String hybridRatios(BenchWorkload w, LinkProfile l) {
        List<RunResult> hybrid = of(BenchStrategy.HYBRID, w, l);
        if (hybrid.stream().noneMatch(RunResult::ok)) return "no successful hybrid run for " + w.label() + " / " + l.label() + "\n";
        StringBuilder b = new StringBuilder();
        b.append("Hybrid ratios, ").append(w.label()).append(" workload at ").append(l.label())
                .append(" (medians; < 1 means hybrid took less time / bytes, > 1 more guest throughput):\n\n");
        b.append("| hybrid / | total time | wire bytes | guest throughput during |\n|---|---|---|---|\n");
        for (BenchStrategy other : strategies()) {
            if (other == BenchStrategy.HYBRID || other == BenchStrategy.POSTCOPY) continue;
            List<RunResult> o = of(other, w, l);
            if (o.isEmpty()) continue;
            if (o.stream().noneMatch(RunResult::ok)) {
                b.append("| ").append(other.label()).append(" | no successful run (").append(o.get(0).error()
                        .startsWith("did not converge") ? "did not converge" : "failed").append(") | - | - |\n");
                continue;
            }
            b.append("| ").append(other.label()).append(" | ")
                    .append(ratio(hybrid, o, r -> r.totalMillis())).append(" | ")
                    .append(ratio(hybrid, o, RunResult::wireBytes)).append(" | ")
                    .append(ratio(hybrid, o, RunResult::tputDuring)).append(" |\n");
        }
        return b.toString();
    }

    private static String ratio(List<RunResult> a, List<RunResult> b, ToDoubleFunction<RunResult> f) {
        double x = spread(a, f).median();
        double y = spread(b, f).median();
        if (Double.isNaN(x) || Double.isNaN(y) || y == 0) return "-";
        return String.format(Locale.ROOT, "%.2f", x / y);
    }

    /** One CSV row per run, with a header. */
    public String csv() {
        StringBuilder b = new StringBuilder("workload,link,rate_bps,rtt_ms,strategy,repeat,ok,total_ms,cutover_ms,source_total_ms,source_cutover_ms,"
                + "qemu_downtime_ms,guest_pause_ms,pause_minus_downtime_ms,wire_to_dst_bytes,wire_to_src_bytes,"
                + "link_fill_overall_pct,link_fill_push_pct,link_fill_pull_pct,link_fill_disk_phase_pct,disk_bytes,ram_bytes,"
                + "tput_before_Bps,tput_during_Bps,tput_after_Bps,on_demand_pulls,on_demand_wait_median_ms,on_demand_wait_max_ms,"
                + "iteration_limit_hit,"
                + "must_cross_bytes,limit_s,total_over_limit,verify,error\n");
        for (RunResult r : runs) {
            long must = mustCross(r.workload(), r.link());
            double limit = r.link().physicalLimitSeconds(must);
            b.append(String.join(",", r.workload().label(), r.link().label(), Long.toString(r.link().rateBitsPerSecond()),
                    Long.toString(r.link().rtt().toMillis()), r.strategy().label(), Integer.toString(r.repeat()),
                    Boolean.toString(r.ok()), Long.toString(r.totalMillis()), Long.toString(r.cutoverMillis()),
                    Long.toString(r.sourceTotalMillis()), Long.toString(r.sourceCutoverMillis()),
                    Long.toString(r.qemuDowntimeMillis()), Long.toString(r.guestPauseMillis()), num(r.pauseBeyondDowntimeMillis()),
                    Long.toString(r.wireToDestination()), Long.toString(r.wireToSource()), percent(r.linkFill().overall()),
                    percent(r.linkFill().push()), percent(r.linkFill().pull()), percent(r.linkFill().diskPhase()),
                    Long.toString(r.diskBytesMoved()),
                    Long.toString(r.ramBytes()), num(r.tputBefore()), num(r.tputDuring()), num(r.tputAfter()),
                    Long.toString(r.onDemandPulls()), num(r.onDemandMedianMillis()), num(r.onDemandMaxMillis()),
                    Boolean.toString(r.iterationLimitHit()), Long.toString(must),
                    num(limit), r.ok() ? num(r.totalMillis() / 1000.0 / limit) : "",
                    quote(r.verify()), quote(r.error() == null ? "" : r.error()))).append('\n');
        }
        return b.toString();
    }

    /** A fill (fraction) as a percentage with one decimal, empty if not measured. */
    private static String percent(double fraction) {
        return Double.isNaN(fraction) ? "" : String.format(Locale.ROOT, "%.1f", fraction * 100);
    }

    private static String num(double d) {
        return Double.isNaN(d) ? "" : String.format(Locale.ROOT, "%.3f", d);
    }

    private static String quote(String s) {
        return "\"" + s.replace("\"", "\"\"").replace('\n', ' ') + "\"";
    }

    /** A workload on a link. */
    public record Scenario(BenchWorkload workload, LinkProfile link) {
        public String fileName() {
            return workload.label() + "-" + link.label();
        }
    }

    /** The scenarios present, in the order of their first run. */
    public List<Scenario> scenarios() {
        List<Scenario> out = new ArrayList<>();
        for (RunResult r : runs) {
            Scenario s = new Scenario(r.workload(), r.link());
            if (!out.contains(s)) out.add(s);
        }
        return out;
    }

    private List<BenchStrategy> strategies() {
        return List.of(BenchStrategy.values());
    }
}
