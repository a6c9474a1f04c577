package io.vmmig.agent.config;

import io.vmmig.strategy.peer.ChunkCompression;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the agent's configuration: {@code key = value} lines, {@code #} comments (whole lines, or after a
 * blank at the end of a line), blank lines ignored.
 * Unknown keys, repeated keys and bad values are errors naming the file and line. Keys:
 *
 * <pre>
 * listen = 0.0.0.0:7410                # peer listener (HOST:PORT)
 * migration-address = 10.0.0.2         # where destination QEMUs listen for memory (default: listen host)
 * tls.key = /etc/vmmig/pki/agent-key.pem
 * tls.cert = /etc/vmmig/pki/agent-cert.pem
 * tls.ca = /etc/vmmig/pki/ca-cert.pem
 * tls.allowed-clients = host-a, host-b # optional: source agents' certificate names
 * tls.qemu-streams = true              # QEMU's memory and mirror NBD streams in TLS too (default; both agents must agree)
 * insecure = false                     # true: plain TCP between agents (labs only)
 * state-dir = /var/lib/vmmig
 * control-socket = /run/vmmig/control.sock
 * control-socket.group = vmmig         # members may use the socket too (mode 0660); default: root only (0600)
 * control-socket.max-connections = 64  # control connections open at once
 * control-socket.idle-timeout = 10     # seconds a control connection may wait before sending its request
 * image-dirs = /var/lib/vmmig/images, /srv/images
 * qemu = qemu-system-x86_64
 * timeout = 600                        # seconds, longest wait for one step
 * token-ttl = 600                      # seconds a migration's token admits connections (default: timeout)
 * link-bandwidth = 0                   # as a source: bytes/s all outgoing migrations may take together, disk and memory, shared fairly (0: none)
 * pull-bandwidth = 0                   # bytes/s the destination's background pull may take (0: no limit)
 * allowed.kernel-dirs = /var/lib/vmmig/boot   # where -kernel/-initrd/-bios of incoming VMs may be
 * allowed.backing-dirs = /var/lib/images/base # where an incoming top layer's backing file may be (besides image-dirs)
 * allowed.chardev-dirs = /run/vms      # where incoming VMs' chardev sockets/files (consoles, monitors) may be
 * allowed.taps = vnet*, tap0           # tap interfaces incoming NICs may use
 * qemu.runas = libvirt-qemu            # the user destination QEMUs drop to (-runas)
 * vm.web1 = /run/vms/web1/qmp.sock     # VM names the CLI may use
 * log-level = info                     # error, warn, info, debug, trace
 * metrics.listen = 127.0.0.1:9741      # serve /metrics (Prometheus text format); default: not served
 * journal.keep = 100                   # finished migrations kept in the state dir (in flight: always)
 * journal.max-age-days = 30            # finished migrations older than this are dropped
 * memory.max-bandwidth = unlimited     # as a source: QEMU's memory rate cap, bytes/s (default: --bandwidth, else unlimited)
 * memory.downtime-limit = 300          # as a source: QEMU's downtime target, ms (default 300)
 * memory.auto-converge = false         # as a source: let QEMU throttle the guest's vCPUs when RAM cannot converge
 * compression = adaptive               # source: chunk data off, deflate, zstd, or adaptive (zstd while the link is the bottleneck)
 * announce.rounds = 5                  # destination: announcement rounds at the switchover (QEMU's own, then QMP announce-self; 0: none)
 * announce.initial = 50                # ms; announce.max = 550, announce.step = 100 (QEMU's AnnounceParameters)
 * post-switchover = /etc/vmmig/post-switchover   # destination: run after the switchover (args VM SOURCE DEST; VMMIG_* env)
 * post-switchover.timeout = 30         # seconds before the hook is killed
 * dedup = on                           # neighbourhood dedup: fingerprints first, local copies of matching chunks (on|off)
 * dedup.neighbour-dirs = /srv/images   # more images to index as a destination (besides image-dirs)
 * dedup.index-dir = /var/lib/vmmig/dedup   # where the fingerprint index is kept (default: state-dir/dedup)
 * dedup.chunk-size = 65536             # the index's chunk size (migrations at another size send everything)
 * dedup.rescan = 300                   # seconds between checks of the image directories
 * dedup.settle = 60                    # seconds a changed file is left alone before it is indexed (0: at once)
 * </pre>
 * Addresses may be IPv6 in brackets: {@code listen = [::]:7410}.
 */
public final class AgentConfigFile {
    private AgentConfigFile() {
    }

    public static AgentConfig read(Path file) throws ConfigException {
        return read(file, false);
    }

    /** Reads {@code file}; {@code insecure} (the agent's --insecure) overrides the file's TLS settings. */
    public static AgentConfig read(Path file, boolean insecure) throws ConfigException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file);
        } catch (IOException e) {
            throw new ConfigException("cannot read the agent configuration " + file + ": " + e.getMessage());
        }
        return parse(file.toString(), lines, insecure);
    }

    public static AgentConfig parse(String name, List<String> lines) throws ConfigException {
        return parse(name, lines, false);
    }

    private static AgentConfig parse(String name, List<String> lines, boolean forceInsecure) throws ConfigException {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, Integer> lineOf = new LinkedHashMap<>();
        Map<String, Path> vms = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            int eq = line.indexOf('=');
            String where = name + " line " + (i + 1);
            if (eq <= 0) throw new ConfigException(where + ": expected 'key = value', got '" + line + "'");
            String key = line.substring(0, eq).strip();
            String value = TRAILING_COMMENT.matcher(line.substring(eq + 1)).replaceFirst("").strip();
            if (key.startsWith("vm.")) {
                String vm = key.substring(3);
                if (vm.isEmpty() || !vm.matches("[A-Za-z0-9_.-]+"))
                    throw new ConfigException(where + ": bad VM name '" + vm + "' (letters, digits, _ . - only)");
                if (vms.put(vm, absolute(where, key, value)) != null) throw new ConfigException(where + ": VM '" + vm + "' defined twice");
                continue;
            }
            if (!KEYS.contains(key)) throw new ConfigException(where + ": unknown key '" + key + "' (known: " + String.join(", ", KEYS) + ", vm.NAME)");
            if (values.put(key, value) != null) throw new ConfigException(where + ": '" + key + "' set twice");
            lineOf.put(key, i + 1);
        }
        Reader r = new Reader(name, values, lineOf);
        HostPort listen = r.address("listen", "0.0.0.0:" + AgentConfig.DEFAULT_PORT, AgentConfig.DEFAULT_PORT);
        String host = listen.host();
        int port = listen.port();
        HostPort metrics = values.containsKey("metrics.listen") ? r.address("metrics.listen", null, 0) : null;
        if (metrics != null && metrics.port() == 0)
            throw new ConfigException(r.where("metrics.listen") + ": 'metrics.listen' needs a port (Prometheus must know where to scrape)");
        LogLevel logLevel;
        try {
            logLevel = LogLevel.parse(r.nonEmpty("log-level", "info"));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(r.where("log-level") + ": 'log-level': " + e.getMessage());
        }
        boolean insecure = forceInsecure || r.bool("insecure", false);
        Path key = r.path("tls.key");
        Path cert = r.path("tls.cert");
        Path ca = r.path("tls.ca");
        if (!insecure && (key == null || cert == null || ca == null))
            throw new ConfigException(name + ": tls.key, tls.cert and tls.ca are required (or insecure = true, for labs only)");
        Set<String> allowed = new LinkedHashSet<>(r.list("tls.allowed-clients"));
        Path state = r.path("state-dir");
        List<Path> imageDirs = new ArrayList<>();
        for (String d : r.list("image-dirs")) imageDirs.add(absolute(r.where("image-dirs"), "image-dirs", d));
        if (state == null) state = Path.of("/var/lib/vmmig");
        if (imageDirs.isEmpty()) imageDirs.add(state.resolve("images"));
        Path control = r.path("control-socket");
        long timeout = r.positiveLong("timeout", 600);
        long tokenTtl = r.positiveLong("token-ttl", timeout);
        long pullBandwidth = "0".equals(r.get("pull-bandwidth", "0")) ? 0 : r.positiveLong("pull-bandwidth", 0);
        long linkBandwidth = "0".equals(r.get("link-bandwidth", "0")) ? 0 : r.positiveLong("link-bandwidth", 0);
        List<Path> kernelDirs = r.paths("allowed.kernel-dirs", QemuPolicy.DEFAULT_KERNEL_DIRS);
        List<Path> chardevDirs = r.paths("allowed.chardev-dirs", QemuPolicy.DEFAULT_CHARDEV_DIRS);
        List<String> taps = r.list("allowed.taps");
        List<Path> backingDirs = r.paths("allowed.backing-dirs", List.of());
        for (String t : taps)
            if (!t.matches("[A-Za-z0-9_.-]{1,15}\\*?"))
                throw new ConfigException(r.where("allowed.taps") + ": bad tap name '" + t + "' in 'allowed.taps' (letters, digits, _ . -, up to 15, optional trailing *)");
        r.bool("libvirt.hook-refuse-unprepared", false);   // read by the libvirt hook (50-vmmig); checked here
        String runas = r.get("qemu.runas", null);
        if (runas != null && !runas.matches("[a-z_][a-z0-9_-]{0,31}"))
            throw new ConfigException(r.where("qemu.runas") + ": bad user name '" + runas + "' in 'qemu.runas'");
        String controlGroup = r.get("control-socket.group", null);
        if (controlGroup != null && !controlGroup.matches("[A-Za-z_][A-Za-z0-9_.-]{0,31}"))
            throw new ConfigException(r.where("control-socket.group") + ": bad group name '" + controlGroup + "' in 'control-socket.group'");
        long maxControl = r.positiveLong("control-socket.max-connections", ControlSocketOptions.DEFAULT_MAX_CONNECTIONS);
        if (maxControl > 10_000)
            throw new ConfigException(r.where("control-socket.max-connections") + ": 'control-socket.max-connections' must be at most 10000, got "
                    + maxControl);
        long idle = r.positiveLong("control-socket.idle-timeout", ControlSocketOptions.DEFAULT_IDLE_TIMEOUT.toSeconds());
        ControlSocketOptions controlOptions = new ControlSocketOptions(controlGroup, (int) maxControl, Duration.ofSeconds(idle));
        DedupConfig dedup = dedup(r);
        return new AgentConfig(host, port, unbracketed(r.get("migration-address", host)), key, cert, ca, allowed, insecure, state,
                control == null ? AgentConfig.DEFAULT_CONTROL_SOCKET : control, imageDirs,
                r.nonEmpty("qemu", "qemu-system-x86_64"), vms, Duration.ofSeconds(timeout),
                Duration.ofSeconds(tokenTtl), pullBandwidth, linkBandwidth, logLevel, metrics,
                new QemuPolicy(kernelDirs, chardevDirs, taps, runas, backingDirs), r.bool("tls.qemu-streams", true), retention(r),
                controlOptions, memory(r), compression(r), afterSwitchover(r), dedup,
                new LibvirtSettings(r.nonEmpty("libvirt.uri", LibvirtSettings.DEFAULT_URI),
                        r.get("libvirt.migration-uri", LibvirtSettings.defaults(unbracketed(r.get("migration-address", host))).migrationUri())));
    }

    private static ChunkCompression compression(Reader r) throws ConfigException {
        try {
            return ChunkCompression.parse(r.nonEmpty("compression", "adaptive"));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(r.where("compression") + ": 'compression': " + e.getMessage());
        }
    }

    private static AfterSwitchover afterSwitchover(Reader r) throws ConfigException {
        AfterSwitchover d = AfterSwitchover.DEFAULTS;
        int rounds = r.values().containsKey("announce.rounds") && "0".equals(r.values().get("announce.rounds")) ? 0
                : (int) Math.min(1000, r.positiveLong("announce.rounds", d.announceRounds()));
        int initial = (int) Math.min(100_000, r.positiveLong("announce.initial", d.announceInitialMs()));
        int max = (int) Math.min(100_000, r.positiveLong("announce.max", d.announceMaxMs()));
        int step = (int) Math.min(100_000, r.positiveLong("announce.step", d.announceStepMs()));
        Path hook = r.path("post-switchover");
        long timeout = r.positiveLong("post-switchover.timeout", d.hookTimeout().toSeconds());
        return new AfterSwitchover(rounds, initial, max, step, hook, Duration.ofSeconds(timeout));
    }

    private static JournalRetention retention(Reader r) throws ConfigException {
        long keep = r.positiveLong("journal.keep", JournalRetention.DEFAULT.keep());
        long days = r.positiveLong("journal.max-age-days", JournalRetention.DEFAULT.maxAge().toDays());
        if (keep > Integer.MAX_VALUE) throw new ConfigException(r.where("journal.keep") + ": 'journal.keep' is too large: " + keep);
        if (days > 36_500) throw new ConfigException(r.where("journal.max-age-days") + ": 'journal.max-age-days' is too large: " + days);
        return new JournalRetention((int) keep, Duration.ofDays(days));

    }

    private static MemoryPolicy memory(Reader r) throws ConfigException {
        String bw = r.nonEmpty("memory.max-bandwidth", "unset");
        Long maxBandwidth = bw.equals("unset") ? null : bw.equals("unlimited") ? MemoryPolicy.UNLIMITED
                : r.positiveLong("memory.max-bandwidth", 0);
        long downtime = r.positiveLong("memory.downtime-limit", MemoryPolicy.DEFAULT_DOWNTIME_LIMIT_MILLIS);
        if (downtime > MemoryPolicy.MAX_DOWNTIME_LIMIT_MILLIS)
            throw new ConfigException(r.where("memory.downtime-limit") + ": 'memory.downtime-limit' must be at most "
                    + MemoryPolicy.MAX_DOWNTIME_LIMIT_MILLIS + " ms (QEMU's limit), got " + downtime);
        return new MemoryPolicy(maxBandwidth, downtime, r.bool("memory.auto-converge", false));
    }

    private static DedupConfig dedup(Reader r) throws ConfigException {
        String on = r.get("dedup", "on");
        boolean enabled;
        if (on.equals("on") || on.equals("true") || on.equals("yes")) enabled = true;
        else if (on.equals("off") || on.equals("false") || on.equals("no")) enabled = false;
        else throw new ConfigException(r.where("dedup") + ": 'dedup' must be on or off, got '" + on + "'");
        long chunk = r.positiveLong("dedup.chunk-size", DedupConfig.DEFAULT_CHUNK);
        if (chunk < 4096 || chunk > (1 << 26) || Long.bitCount(chunk) != 1)
            throw new ConfigException(r.where("dedup.chunk-size") + ": 'dedup.chunk-size' must be a power of two from 4096 to 64 MiB, got " + chunk);
        long settle = "0".equals(r.get("dedup.settle", "60")) ? 0 : r.positiveLong("dedup.settle", 60);
        return new DedupConfig(enabled, r.paths("dedup.neighbour-dirs", java.util.List.of()), r.path("dedup.index-dir"), (int) chunk,
                Duration.ofSeconds(r.positiveLong("dedup.rescan", 300)), Duration.ofSeconds(settle));
    }

    /** {@code [::1]} as an address alone: {@code ::1}. */
    private static String unbracketed(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    /** A {@code #} after a blank starts a comment (a {@code #} inside a value is kept). */
    private static final Pattern TRAILING_COMMENT = Pattern.compile("(^|\\s)#.*$");

    private static final List<String> KEYS = List.of("listen", "migration-address", "tls.key", "tls.cert", "tls.ca",
            "tls.allowed-clients", "tls.qemu-streams", "insecure", "state-dir", "control-socket",
            "control-socket.group", "control-socket.max-connections", "control-socket.idle-timeout", "image-dirs", "qemu", "timeout", "token-ttl",
            "pull-bandwidth", "link-bandwidth", "log-level", "metrics.listen", "allowed.kernel-dirs", "allowed.chardev-dirs", "allowed.taps", "allowed.backing-dirs",
            "qemu.runas", "journal.keep", "journal.max-age-days",
            "memory.max-bandwidth", "memory.downtime-limit", "memory.auto-converge", "compression", "announce.rounds", "announce.initial",
            "announce.max", "announce.step", "post-switchover", "post-switchover.timeout",
            "dedup", "dedup.neighbour-dirs", "dedup.index-dir", "dedup.chunk-size", "dedup.rescan", "dedup.settle",
            "libvirt.uri", "libvirt.migration-uri", "libvirt.hook-refuse-unprepared");

    private static Path absolute(String where, String key, String value) throws ConfigException {
        Path p;
        try {
            p = Path.of(value);
        } catch (java.nio.file.InvalidPathException e) {   // found by AgentConfigFuzzTest: a NUL in a path
            throw new ConfigException(where + ": '" + key + "' is not a path: " + e.getReason());
        }
        if (!p.isAbsolute()) throw new ConfigException(where + ": '" + key + "' must be an absolute path, got '" + value + "'");
        return p;
    }

    private record Reader(String name, Map<String, String> values, Map<String, Integer> lineOf) {
        String where(String key) {
            return name + " line " + lineOf.get(key);
        }

        String get(String key, String dflt) {
            String v = values.get(key);
            return v == null || v.isEmpty() ? dflt : v;
        }

        /** The value, which may be absent ({@code dflt}) but not written empty. */
        String nonEmpty(String key, String dflt) throws ConfigException {
            String v = values.get(key);
            if (v == null) return dflt;
            if (v.isEmpty()) throw new ConfigException(where(key) + ": '" + key + "' is empty (remove the line for the default, " + dflt + ")");
            return v;
        }

        HostPort address(String key, String dflt, int defaultPort) throws ConfigException {
            String v = dflt == null ? values.get(key) : nonEmpty(key, dflt);
            if (v == null || v.isEmpty()) throw new ConfigException(where(key) + ": '" + key + "' is empty: expected HOST:PORT");
            try {
                return HostPort.parse(v, defaultPort);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(where(key) + ": '" + key + "': " + e.getMessage());
            }
        }

        Path path(String key) throws ConfigException {
            String v = values.get(key);
            return v == null || v.isEmpty() ? null : absolute(where(key), key, v);
        }

        List<Path> paths(String key, List<Path> dflt) throws ConfigException {
            if (!values.containsKey(key)) return dflt;
            List<Path> out = new ArrayList<>();
            for (String d : list(key)) out.add(absolute(where(key), key, d));
            return out;
        }

        List<String> list(String key) {
            String v = values.get(key);
            List<String> out = new ArrayList<>();
            if (v == null) return out;
            for (String s : v.split(",")) if (!s.isBlank()) out.add(s.strip());
            return out;
        }

        boolean bool(String key, boolean dflt) throws ConfigException {
            String v = values.get(key);
            if (v == null) return dflt;
            if (v.equals("true") || v.equals("yes")) return true;
            if (v.equals("false") || v.equals("no")) return false;
            throw new ConfigException(where(key) + ": '" + key + "' must be true or false, got '" + v + "'");
        }

        long positiveLong(String key, long dflt) throws ConfigException {
            String v = values.get(key);
            if (v == null) return dflt;
            try {
                long n = Long.parseLong(v);
                if (n > 0) return n;
            } catch (NumberFormatException e) {
                // fall through
            }
            throw new ConfigException(where(key) + ": '" + key + "' must be a positive number, got '" + v + "'");
        }
    }
}
