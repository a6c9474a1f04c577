package io.vmmig.agent.cli;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte counts and rates as people type them. Sizes: {@code 262144}, {@code 256K}, {@code 1M}, {@code 1MiB}
 * ({@code K}, {@code M}, {@code G}, {@code T} are powers of 1024, with or without {@code i}/{@code B}).
 * Rates: the same in bytes per second, with an optional {@code /s}; or bits per second when {@code bit} is
 * said ({@code 100Mbit}, {@code 1Gbit/s}: decimal, as links are sold; {@code Mibit} is binary).
 */
public final class ByteQuantity {
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(?:([kmgt])(i?)b?|b)?");
    private static final Pattern RATE = Pattern.compile(
            "(\\d+(?:\\.\\d+)?)\\s*(?:(?:([kmgt])(i?)b?|b)?(?:/s)?|([kmgt]?)(i?)bits?(?:/s)?)");

    private ByteQuantity() {
    }

    /** A size in bytes; whole bytes only. */
    public static long parseSize(String text) {
        Matcher m = SIZE.matcher(normalize(text));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size (examples: 65536, 256K, 1M, 4MiB)");
        }
        BigDecimal bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(binaryUnit(m.group(2))));
        if (bytes.stripTrailingZeros().scale() > 0) {
            throw new IllegalArgumentException("'" + text + "' is not a whole number of bytes");
        }
        return toLong(bytes, text);
    }

    /** A rate in bytes per second (bits divided by 8, rounded down). */
    public static long parseRate(String text) {
        Matcher m = RATE.matcher(normalize(text));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text
                    + "' is not a rate (examples: 100M, 12.5MiB/s, 100Mbit, 1Gbit/s; bytes per second unless 'bit' is said)");
        }
        BigDecimal number = new BigDecimal(m.group(1));
        BigDecimal bytes;
        if (m.group(4) != null) {
            long unit = m.group(5).isEmpty() ? decimalUnit(m.group(4)) : binaryUnit(m.group(4));
            bytes = number.multiply(BigDecimal.valueOf(unit)).divide(BigDecimal.valueOf(8), 0, RoundingMode.DOWN);
        } else {
            bytes = number.multiply(BigDecimal.valueOf(binaryUnit(m.group(2)))).setScale(0, RoundingMode.DOWN);
        }
        return toLong(bytes, text);
    }

    /** A byte count for people: {@code 512 B}, {@code 1.5 KiB}, {@code 12.0 MiB}, {@code 2.00 GiB}. */
    public static String format(long bytes) {
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, units[u]);
    }

    private static String normalize(String text) {
        return text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
    }

    private static long binaryUnit(String prefix) {
        if (prefix == null || prefix.isEmpty()) return 1;
        return 1L << (10 * ("kmgt".indexOf(prefix.charAt(0)) + 1));
    }

    private static long decimalUnit(String prefix) {
        if (prefix.isEmpty()) return 1;
        return (long) Math.pow(1000, "kmgt".indexOf(prefix.charAt(0)) + 1);
    }

    private static long toLong(BigDecimal bytes, String text) {
        try {
            return bytes.longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("'" + text + "' is too large", e);
        }
    }
}
