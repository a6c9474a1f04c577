package io.vmmig.lab.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.function.ToDoubleFunction;

/**
 * The side-by-side results: per link, one row per system (median with min-max over the repeats), the ratios of
 * each vmmig column to libvirt's, and a CSV with one row per run. Invalid runs (VERIFY FAIL, a kernel fault on
 * the console, or an error) are listed and left out of every figure.
 */
final class PeerTable {
    private static final double MIB = 1 << 20;

    private final List<PeerResult> runs;
    private final ScaleScenario scale;

    PeerTable(List<PeerResult> runs, ScaleScenario scale) {
        this.runs = List.copyOf(runs);
        this.scale = scale;
    }

    private List<PeerResult> of(PeerSystem s, LinkProfile l) {
        return runs.stream().filter(r -> r.system() == s && r.link().equals(l)).toList();
    }

    private List<LinkProfile> links() {
        List<LinkProfile> out = new ArrayList<>();
        for (PeerResult r : runs) if (!out.contains(r.link())) out.add(r.link());
        return out;
    }

    /** Written area plus the smallest RAM transfer of any valid run on the link. */
    long mustCross(LinkProfile l) {
        OptionalLong ram = runs.stream().filter(r -> r.ok() && r.link().equals(l) && r.ramBytes() > 0).mapToLong(PeerResult::ramBytes).min();
        return ((long) scale.writtenMib() << 20) + ram.orElse(0);
    }

    private static Spread spread(List<PeerResult> rs, ToDoubleFunction<PeerResult> f) {
        List<Double> v = new ArrayList<>();
        for (PeerResult r : rs) {
            if (!r.ok()) continue;
            double x = f.applyAsDouble(r);
            if (!Double.isNaN(x)) v.add(x);
        }
        return Spread.of(v);
    }

    private static double orNaN(long v) {
        return v < 0 ? Double.NaN : v;
    }

    String markdown() {
        StringBuilder b = new StringBuilder();
        b.append("| link | system | valid | total s | command s | CLI start to accepted / PREPARING s | downtime ms | guest pause ms | wire MiB (to dst + to src) | RAM MiB"
                + " | guest MiB/s before | during | after | during the pull (destination) | agent CPU s | limit s | total/limit | load (1 min) |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (LinkProfile l : links()) {
            double limit = l.physicalLimitSeconds(mustCross(l));
            for (PeerSystem s : PeerSystem.values()) {
                List<PeerResult> rs = of(s, l);
                if (rs.isEmpty()) continue;
                long ok = rs.stream().filter(PeerResult::ok).count();
                b.append("| ").append(l.label()).append(" | ").append(s.label()).append(" | ").append(ok).append('/').append(rs.size())
                        .append(" | ").append(spread(rs, r -> r.totalMillis() / 1000.0).format("%.2f"))
                        .append(" | ").append(spread(rs, r -> r.commandMillis() / 1000.0).format("%.2f"))
                        .append(" | ").append(s == PeerSystem.VMMIG_LIBVIRT ? spread(rs, r -> orNaN(r.cliAcceptedMillis()) / 1000.0).format("%.2f")
                                + " / " + spread(rs, r -> orNaN(r.preparingMillis()) / 1000.0).format("%.2f") : "-")
                        .append(" | ").append(spread(rs, r -> orNaN(r.downtimeMillis())).format("%.0f"))
                        .append(" | ").append(spread(rs, r -> orNaN(r.guestPauseMillis())).format("%.0f"))
                        .append(" | ").append(spread(rs, r -> r.wireBytes() / MIB).format("%.1f")).append(" (")
                        .append(spread(rs, r -> r.wireToDestination() / MIB).format("%.1f")).append(" + ")
                        .append(spread(rs, r -> r.wireToSource() / MIB).format("%.1f")).append(")")
                        .append(" | ").append(spread(rs, r -> r.ramBytes() < 0 ? Double.NaN : r.ramBytes() / MIB).format("%.1f"))
                        .append(" | ").append(spread(rs, r -> r.tputBefore() / MIB).format("%.2f"))
                        .append(" | ").append(spread(rs, r -> r.tputDuring() / MIB).format("%.2f"))
                        .append(" | ").append(spread(rs, r -> r.tputAfter() / MIB).format("%.2f"))
                        .append(" | ").append(spread(rs, r -> r.tputPull() / MIB).format("%.2f"))
                        .append(" | ").append(spread(rs, PeerResult::agentCpuSeconds).format("%.1f"))
                        .append(" | ").append(Double.isNaN(limit) ? "-" : String.format(Locale.ROOT, "%.2f", limit))
                        .append(" | ").append(Double.isNaN(limit) ? "-" : spread(rs, r -> r.totalMillis() / 1000.0 / limit).format("%.2f"))
                        .append(" | ").append(String.join(", ", rs.stream().map(PeerResult::load).toList())).append(" |\n");
            }
        }
        List<PeerResult> bad = runs.stream().filter(r -> !r.ok()).toList();
        if (!bad.isEmpty()) {
            b.append("\nInvalid or failed runs (left out of every figure above):\n\n");
            for (PeerResult r : bad)
                b.append("- ").append(r.link().label()).append(" / ").append(r.system().label()).append(" #").append(r.repeat())
                        .append(": ").append(r.failure().lines().findFirst().orElse("")).append('\n');
        }
        return b.toString();
    }

    /** Each vmmig column over libvirt's, per link (medians; < 1: vmmig took less time / bytes / pause). */
    String ratios() {
        StringBuilder b = new StringBuilder("| link | system / libvirt | total | wire bytes | downtime | guest pause | guest MiB/s during |\n"
                + "|---|---|---|---|---|---|---|\n");
        for (LinkProfile l : links()) {
            List<PeerResult> lv = of(PeerSystem.LIBVIRT, l);
            for (PeerSystem s : List.of(PeerSystem.VMMIG_QEMU, PeerSystem.VMMIG_LIBVIRT)) {
                List<PeerResult> v = of(s, l);
                if (v.isEmpty() || lv.isEmpty()) continue;
                b.append("| ").append(l.label()).append(" | ").append(s.label()).append(" | ")
                        .append(ratio(v, lv, PeerResult::totalMillis)).append(" | ")
                        .append(ratio(v, lv, PeerResult::wireBytes)).append(" | ")
                        .append(ratio(v, lv, r -> orNaN(r.downtimeMillis()))).append(" | ")
                        .append(ratio(v, lv, r -> orNaN(r.guestPauseMillis()))).append(" | ")
                        .append(ratio(v, lv, PeerResult::tputDuring)).append(" |\n");
            }
        }
        return b.toString();
    }

    private static String ratio(List<PeerResult> a, List<PeerResult> b, ToDoubleFunction<PeerResult> f) {
        double x = spread(a, f).median();
        double y = spread(b, f).median();
        if (Double.isNaN(x) || Double.isNaN(y) || y == 0) return "-";
        return String.format(Locale.ROOT, "%.2f", x / y);
    }

    String csv() {
        StringBuilder b = new StringBuilder("link,rate_bps,system,repeat,valid,total_ms,command_ms,cli_accepted_ms,preparing_ms,downtime_ms,guest_pause_ms,"
                + "wire_to_dst_bytes,wire_to_src_bytes,ram_bytes,tput_before_Bps,tput_during_Bps,tput_after_Bps,tput_pull_Bps,agent_cpu_s,"
                + "must_cross_bytes,limit_s,load,verify,error\n");
        for (PeerResult r : runs) {
            long must = mustCross(r.link());
            b.append(String.join(",", r.link().label(), Long.toString(r.link().rateBitsPerSecond()), r.system().label(),
                    Integer.toString(r.repeat()), Boolean.toString(r.ok()), Long.toString(r.totalMillis()), Long.toString(r.commandMillis()),
                    Long.toString(r.cliAcceptedMillis()), Long.toString(r.preparingMillis()),
                    Long.toString(r.downtimeMillis()), Long.toString(r.guestPauseMillis()), Long.toString(r.wireToDestination()),
                    Long.toString(r.wireToSource()), Long.toString(r.ramBytes()), num(r.tputBefore()), num(r.tputDuring()),
                    num(r.tputAfter()), num(r.tputPull()), num(r.agentCpuSeconds()), Long.toString(must), num(r.link().physicalLimitSeconds(must)),
                    r.load(), quote(r.verify()), quote(r.error() == null ? "" : r.error()))).append('\n');
        }
        return b.toString();
    }

    private static String num(double d) {
        return Double.isNaN(d) ? "" : String.format(Locale.ROOT, "%.3f", d);
    }

    private static String quote(String s) {
        return "\"" + (s == null ? "" : s).replace("\"", "\"\"").replace('\n', ' ') + "\"";
    }
}
