package io.vmmig.lab.bench;

import java.util.List;
import java.util.Locale;

/**
 * One scenario's timeline as an SVG: bytes on the wire (top) and the guest's write throughput
 * (bottom) over time, one colour per strategy, its cutover as a dashed line and its end as a dot.
 */
public final class TimelinePlot {
    private static final String[] COLOURS = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"};
    private static final int WIDTH = 960;
    private static final int PANEL = 260;
    private static final int LEFT = 70;
    private static final int RIGHT = 215;
    private static final int TOP = 40;
    private static final int GAP = 50;
    private static final double MIB = 1 << 20;

    private TimelinePlot() {}

    /** The SVG of {@code runs} (one per strategy), titled {@code title}. */
    public static String svg(String title, List<RunResult> runs) {
        return svg(title, runs, runs.stream().map(r -> r.strategy().label()).toList());
    }

    /** The SVG of {@code runs}, each named in the legend by the label at its index. */
    public static String svg(String title, List<RunResult> runs, List<String> labels) {
        double tMin = -3;
        double tMax = 1;
        double bytesMax = 1;
        double tputMax = 1;
        for (RunResult r : runs) {
            tMax = Math.max(tMax, r.totalMillis() / 1000.0 + 1);
            for (RunResult.WireSample w : r.wire()) {
                tMax = Math.max(tMax, w.atSeconds());
                bytesMax = Math.max(bytesMax, w.bytes() / MIB);
            }
            for (GuestThroughput.Sample g : r.guest()) {
                if (g.atSeconds() < tMin) continue;
                tMax = Math.max(tMax, g.atSeconds());
                tputMax = Math.max(tputMax, g.bytesPerSecond() / MIB);
            }
        }
        bytesMax = niceCeil(bytesMax);
        tputMax = niceCeil(tputMax);
        Axes wire = new Axes(tMin, tMax, 0, bytesMax, TOP);
        Axes tput = new Axes(tMin, tMax, 0, tputMax, TOP + PANEL + GAP);
        StringBuilder b = new StringBuilder();
        int height = TOP + 2 * PANEL + GAP + 50;
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, height));
        b.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, height));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>%n",
                LEFT, escape(title)));
        wire.frame(b, "bytes on the wire, cumulative (MiB)");
        tput.frame(b, "guest write throughput (MiB/s, TPUT)");
        for (int i = 0; i < runs.size(); i++) {
            RunResult r = runs.get(i);
            String c = COLOURS[i % COLOURS.length];
            StringBuilder p = new StringBuilder();
            for (RunResult.WireSample w : r.wire()) p.append(wire.point(w.atSeconds(), w.bytes() / MIB));
            polyline(b, p, c, "");
            StringBuilder q = new StringBuilder();
            for (GuestThroughput.Sample g : r.guest())
                if (g.atSeconds() >= tMin) q.append(tput.point(g.atSeconds(), g.bytesPerSecond() / MIB));
            polyline(b, q, c, "");
            for (Axes a : List.of(wire, tput)) {
                double x = a.x(r.cutoverMillis() / 1000.0);
                b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
                        + "stroke-dasharray=\"5,4\"/>%n", x, a.top, x, a.top + PANEL, c));
                b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%d\" r=\"4\" fill=\"%s\"/>%n",
                        a.x(r.totalMillis() / 1000.0), a.top + PANEL, c));
            }
            int ly = TOP + 10 + i * 36;
            int lx = WIDTH - RIGHT + 15;
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>%n",
                    lx, ly, lx + 20, ly, c));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", lx + 25, ly + 4, escape(labels.get(i))));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">cutover %.1f s, end %.1f s</text>%n",
                    lx + 25, ly + 17, r.cutoverMillis() / 1000.0, r.totalMillis() / 1000.0));
        }
        int ny = TOP + 10 + runs.size() * 36 + 10;
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">dashed: cutover</text>%n", WIDTH - RIGHT + 15, ny));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\">dot: migration end</text>%n", WIDTH - RIGHT + 15, ny + 14));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">seconds from the migration start</text>%n",
                LEFT + (WIDTH - LEFT - RIGHT) / 2 - 90, height - 12));
        return b.append("</svg>\n").toString();
    }

    private static void polyline(StringBuilder b, CharSequence points, String colour, String dash) {
        if (points.isEmpty()) return;
        b.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"%s\"/>%n",
                colour, dash.isEmpty() ? "" : " stroke-dasharray=\"" + dash + "\"", points.toString().trim()));
    }

    /** 1, 2 or 5 times a power of ten at or above {@code v}. */
    static double niceCeil(double v) {
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 5, 10}) if (m * p >= v) return m * p;
        return 10 * p;
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /** One panel's coordinate mapping and frame. */
    private record Axes(double t0, double t1, double y0, double y1, int top) {
        double x(double t) {
            return LEFT + (t - t0) / (t1 - t0) * (WIDTH - LEFT - RIGHT);
        }

        double y(double v) {
            return top + PANEL - (v - y0) / (y1 - y0) * PANEL;
        }

        String point(double t, double v) {
            return String.format(Locale.ROOT, "%.1f,%.1f ", x(t), y(v));
        }

        void frame(StringBuilder b, String label) {
            int right = WIDTH - RIGHT;
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>%n",
                    LEFT, top, right - LEFT, PANEL));
            b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>%n", LEFT, top - 6, escape(label)));
            for (int i = 0; i <= 4; i++) {
                double v = y0 + (y1 - y0) * i / 4;
                double yy = y(v);
                b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", LEFT, yy, right, yy));
                b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", LEFT - 6, yy + 4, label(v)));
            }
            double step = niceCeil((t1 - t0) / 10);
            for (double t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
                double xx = x(t);
                b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>%n",
                        xx, top, xx, top + PANEL, Math.abs(t) < 1e-9 ? "#000" : "#eee"));
                b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", xx, top + PANEL + 15, label(t)));
            }
        }

        private static String label(double v) {
            return Math.abs(v - Math.rint(v)) < 1e-9 ? Long.toString(Math.round(v)) : String.format(Locale.ROOT, "%.1f", v);
        }
    }
}
