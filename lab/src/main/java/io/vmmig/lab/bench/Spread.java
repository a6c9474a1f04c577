package io.vmmig.lab.bench;

import java.util.Arrays;
import java.util.List;

/** Median with min and max of repeated measurements (NaN values left out). */
public record Spread(double median, double min, double max, int count) {

    public static Spread of(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).filter(d -> !Double.isNaN(d)).sorted().toArray();
        if (v.length == 0) return new Spread(Double.NaN, Double.NaN, Double.NaN, 0);
        double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        return new Spread(median, v[0], v[v.length - 1], v.length);
    }

    public static Spread of(double... values) {
        return of(Arrays.stream(values).boxed().toList());
    }

    /** "median (min-max)" with {@code format} for each number, "median" alone for one value, "-" for none. */
    public String format(String format) {
        if (count == 0) return "-";
        String m = String.format(format, median);
        if (count == 1 || min == max) return m;
        return m + " (" + String.format(format, min) + "-" + String.format(format, max) + ")";
    }
}
