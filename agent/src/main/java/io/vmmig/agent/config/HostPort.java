package io.vmmig.agent.config;

/**
 * A network address as operators write it: {@code HOST}, {@code HOST:PORT}, {@code [IPV6]},
 * {@code [IPV6]:PORT}, or a bare IPv6 address without a port ({@code ::1}, more than one colon).
 * The host is kept without brackets; {@link #toString()} puts them back for IPv6.
 */
public record HostPort(String host, int port) {

    public HostPort {
        if (host == null || host.isEmpty()) throw new IllegalArgumentException("empty host");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port " + port + " out of range");
    }

    /**
     * Parses {@code text}, with {@code defaultPort} when it names none.
     *
     * @throws IllegalArgumentException with a message saying what is wrong and what is expected
     */
    public static HostPort parse(String text, int defaultPort) {
        String t = text == null ? "" : text.strip();
        if (t.isEmpty()) throw new IllegalArgumentException("empty address: expected HOST[:PORT] or [IPV6][:PORT]");
        if (t.startsWith("[")) {
            int close = t.indexOf(']');
            if (close < 0) throw bad(t, "no ']' after the IPv6 address");
            String host = t.substring(1, close);
            if (host.isEmpty() || !host.contains(":")) throw bad(t, "'[...]' must hold an IPv6 address");
            String rest = t.substring(close + 1);
            if (rest.isEmpty()) return new HostPort(host, defaultPort);
            if (!rest.startsWith(":")) throw bad(t, "expected ':PORT' after ']'");
            return new HostPort(host, port(t, rest.substring(1)));
        }
        int colon = t.indexOf(':');
        if (colon < 0) return new HostPort(t, defaultPort);
        if (t.indexOf(':', colon + 1) >= 0) {
            // more than one colon: a bare IPv6 address, which cannot carry a port without brackets
            if (!t.matches("[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?")) throw bad(t, "not an IPv6 address");
            return new HostPort(t, defaultPort);
        }
        if (colon == 0) throw bad(t, "no host before ':'");
        return new HostPort(t.substring(0, colon), port(t, t.substring(colon + 1)));
    }

    private static int port(String text, String p) {
        try {
            int n = Integer.parseInt(p);
            if (n >= 0 && n <= 65535) return n;
        } catch (NumberFormatException e) {
            // below
        }
        throw bad(text, "bad port '" + p + "'");
    }

    private static IllegalArgumentException bad(String text, String why) {
        return new IllegalArgumentException("bad address '" + text + "': " + why + " (expected HOST[:PORT] or [IPV6][:PORT])");
    }

    /** The host as it goes in a URI or {@code HOST:PORT}: IPv6 in brackets. */
    public String uriHost() {
        return host.contains(":") ? "[" + host + "]" : host;
    }

    @Override
    public String toString() {
        return uriHost() + ":" + port;
    }
}
