package io.vmmig.lab.bench;

import io.vmmig.strategy.qemu.SourceReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The table of {@code vmmig bench --dedup}: one row per run, each beside the off cell of the same
 * strategy, link and repeat, and the goals read off the medians (neighbour: at least 60 % fewer disk
 * bytes on the wire; no neighbour: at most 1 % more and no slower).
 */
final class DedupTable {
    private static final double MIB = 1048576.0;
    private final List<DedupBench.Run> runs;

    DedupTable(List<DedupBench.Run> runs) {
        this.runs = List.copyOf(runs);
    }

    /** The off run this run compares with (same strategy, link and repeat), if it counts. */
    Optional<DedupBench.Run> offOf(DedupBench.Run r) {
        RunResult x = r.outcome().result();
        return runs.stream().filter(o -> o.cell() == DedupCell.OFF && o.outcome().intact()).filter(o -> {
            RunResult y = o.outcome().result();
            return y.strategy() == x.strategy() && y.link().equals(x.link()) && y.repeat() == x.repeat();
        }).findFirst();
    }

    static String oneLine(DedupBench.Run r) {
        RunResult x = r.outcome().result();
        if (!x.ok()) return "FAILED " + x.failure();
        SourceReport s = r.source();
        return String.format("total %.2f s, disk on the wire %.1f MiB (fingerprints %.2f MiB), copied locally %.1f MiB, link to dest %.1f MiB,"
                        + " downtime %d ms, %s, image check: %s; load %s", x.totalMillis() / 1000.0, r.diskWireBytes() / MIB,
                s.fingerprintWireBytes() / MIB, s.dedupBytes() / MIB, x.wireToDestination() / MIB, x.qemuDowntimeMillis(), x.verify(),
                r.outcome().imageCheck(), r.load());
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("| link | strategy | dedup | # | total s | disk on the wire MiB | of which fingerprints MiB | copied locally MiB "
                + "| link to dest MiB | disk bytes vs off | total vs off | QEMU downtime ms | verify | image check | load |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (DedupBench.Run r : runs) {
            RunResult x = r.outcome().result();
            String head = String.format("| %s | %s | %s | %d |", x.link().label(), x.strategy().label(), r.cell().label(), x.repeat());
            if (!x.ok()) {
                md.append(head).append(" failed: ").append(x.failure().replace('|', '/')).append(" | | | | | | | | | | |\n");
                continue;
            }
            SourceReport s = r.source();
            Optional<DedupBench.Run> off = offOf(r);
            md.append(String.format("%s %.2f | %.1f | %.2f | %.1f | %.1f | %s | %s | %d | %s | %s | %s |%n", head, x.totalMillis() / 1000.0,
                    r.diskWireBytes() / MIB, s.fingerprintWireBytes() / MIB, s.dedupBytes() / MIB, x.wireToDestination() / MIB,
                    off.map(o -> percent((double) r.diskWireBytes() / o.diskWireBytes())).orElse("-"),
                    off.map(o -> percent((double) x.totalMillis() / o.outcome().result().totalMillis())).orElse("-"),
                    x.qemuDowntimeMillis(), x.verify().startsWith("VERIFY OK") ? "OK" : x.verify(),
                    r.outcome().imageCheck() == null ? "-" : r.outcome().imageCheck(), r.load()));
        }
        md.append('\n').append(goals());
        return md.toString();
    }

    /** The goals per link and strategy, from the medians of the cells' ratios to their off runs. */
    String goals() {
        StringBuilder md = new StringBuilder("Goals (medians of each run's ratio to its off run):\n\n");
        List<String> seen = new ArrayList<>();
        for (DedupBench.Run r : runs) {
            RunResult x = r.outcome().result();
            String key = x.link().label() + " / " + x.strategy().label();
            if (seen.contains(key)) continue;
            seen.add(key);
            double nbBytes = medianRatio(x, DedupCell.NEIGHBOUR, true);
            double nbTime = medianRatio(x, DedupCell.NEIGHBOUR, false);
            double noBytes = medianRatio(x, DedupCell.NO_NEIGHBOUR, true);
            double noTime = medianRatio(x, DedupCell.NO_NEIGHBOUR, false);
            md.append(String.format("- %s: neighbour indexed: disk bytes on the wire %s of off (%s fewer; goal >= 60 %% fewer: %s), total time %s of off; "
                            + "no neighbour: disk bytes %s of off (goal <= 101 %%: %s), total time %s of off (goal no slower, within the "
                            + "off runs' own spread of %s: %s)%n", key,
                    percent(nbBytes), percent(1 - nbBytes), met(nbBytes <= 0.40, nbBytes), percent(nbTime), percent(noBytes),
                    met(noBytes <= 1.01, noBytes), percent(noTime), percent(offSpread(x)), met(noTime <= 1.0 + Math.max(0.01, offSpread(x)), noTime)));
        }
        return md.toString();
    }

    /** (max - min) / min of the off runs' totals of this strategy and link: the noise a time ratio is read against (0 with one run). */
    private double offSpread(RunResult like) {
        List<Double> t = new ArrayList<>();
        for (DedupBench.Run r : runs) {
            RunResult x = r.outcome().result();
            if (r.cell() == DedupCell.OFF && r.outcome().intact() && x.strategy() == like.strategy() && x.link().equals(like.link()))
                t.add((double) x.totalMillis());
        }
        if (t.size() < 2) return 0;
        double min = t.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        return (t.stream().mapToDouble(Double::doubleValue).max().orElseThrow() - min) / min;
    }

    private double medianRatio(RunResult like, DedupCell cell, boolean bytes) {
        List<Double> ratios = new ArrayList<>();
        for (DedupBench.Run r : runs) {
            RunResult x = r.outcome().result();
            if (r.cell() != cell || !r.outcome().intact() || x.strategy() != like.strategy() || !x.link().equals(like.link())) continue;
            offOf(r).ifPresent(o -> ratios.add(bytes ? (double) r.diskWireBytes() / o.diskWireBytes()
                    : (double) x.totalMillis() / o.outcome().result().totalMillis()));
        }
        return Spread.of(ratios).median();
    }

    private static String met(boolean ok, double v) {
        return Double.isNaN(v) ? "no valid runs" : ok ? "**met**" : "**not met**";
    }

    private static String percent(double v) {
        return Double.isNaN(v) ? "-" : String.format("%.1f %%", 100 * v);
    }

    String csv() {
        StringBuilder csv = new StringBuilder("link,strategy,dedup,repeat,ok,total_ms,disk_wire_bytes,fingerprint_wire_bytes,dedup_bytes,"
                + "chunk_raw_bytes,wire_to_destination,wire_to_source,ram_bytes,qemu_downtime_ms,guest_pause_ms,verify,image_check,load,error\n");
        for (DedupBench.Run r : runs) {
            RunResult x = r.outcome().result();
            SourceReport s = r.source();
            csv.append(String.join(",", x.link().label(), x.strategy().label(), r.cell().name().toLowerCase(java.util.Locale.ROOT),
                    Integer.toString(x.repeat()), Boolean.toString(r.outcome().intact()), Long.toString(x.totalMillis()),
                    Long.toString(r.diskWireBytes()), s == null ? "" : Long.toString(s.fingerprintWireBytes()),
                    s == null ? "" : Long.toString(s.dedupBytes()), s == null ? "" : Long.toString(s.chunkRawBytes()),
                    Long.toString(x.wireToDestination()), Long.toString(x.wireToSource()), Long.toString(x.ramBytes()),
                    Long.toString(x.qemuDowntimeMillis()), Long.toString(x.guestPauseMillis()), quoted(x.verify()),
                    quoted(r.outcome().imageCheck()), r.load(), quoted(x.error()))).append('\n');
        }
        return csv.toString();
    }

    private static String quoted(String s) {
        return s == null ? "" : '"' + s.replace("\"", "\"\"") + '"';
    }
}
