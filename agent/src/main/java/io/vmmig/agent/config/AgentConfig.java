package io.vmmig.agent.config;

import io.vmmig.strategy.peer.ChunkCompression;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What {@code vmmig agent} runs with (from {@code /etc/vmmig/vmmig.conf}, see {@link AgentConfigFile}).
 *
 * @param listenHost      address the peer listener binds (source agents connect here)
 * @param listenPort      its port (default 7410)
 * @param migrationHost   address destination QEMUs listen on for memory and mirror NBD (default: listenHost)
 * @param tlsKey          this agent's private key (PKCS#8 PEM); null only when insecure
 * @param tlsCert         this agent's certificate (PEM), used both as server and as client
 * @param tlsCa           the CA certificate peers must chain to
 * @param allowedClients  certificate names (CN or DNS SAN) of source agents allowed in; empty: any from the CA
 * @param insecure        plain TCP between agents (labs and tests only; logged loudly)
 * @param stateDir        per-migration files (destination QEMU sockets and logs)
 * @param controlSocket   the UNIX socket of the CLI (mode 0600, or 0660 with {@code control-socket.group})
 * @param imageDirs       directories where destination images may be created (the first is the default)
 * @param qemuBinary      the QEMU the destination starts
 * @param vms             VM names this agent knows, to their QMP sockets
 * @param timeout         longest wait for any one step of a migration
 * @param tokenTtl        how long a migration's token admits data connections after the prepare
 * @param pullBandwidth   as a destination: bytes per second the background pull may take (0: no limit); the
 *                        guest's on-demand pulls are never held back
 * @param linkBandwidth   as a source: bytes per second all of this agent's outgoing migrations may take together,
 *                        disk push and QEMU's memory stream alike, shared fairly among them (0: no common limit)
 * @param logLevel        how much the agent logs (stderr; the journal under systemd)
 * @param metricsListen   where {@code /metrics} is served in the Prometheus text format; null: not served
 * @param qemuPolicy      what a VM description may use at this destination, and its QEMU's confinement
 * @param qemuStreamsTls  QEMU's memory and mirror NBD streams between the hosts in TLS with this agent's
 *                        certificate, key and CA ({@code tls.qemu-streams}, default true; never when insecure)
 * @param journalRetention how many finished migrations stay written down ({@code journal.keep}, {@code journal.max-age-days})
 * @param controlOptions  who may use the control socket, how many at once ({@code control-socket.*})
 * @param memory          as a source: the memory migration settings it sets on QEMU ({@code memory.*})
 * @param compression     as a source: how chunk data is compressed ({@code compression}, default adaptive)
 * @param afterSwitchover as a destination: announce-self and the post-switchover hook
 * @param dedup           neighbourhood dedup ({@code dedup*} keys; null: {@link DedupConfig#defaults()})
 * @param libvirt         the local libvirtd ({@code libvirt.uri}) and the URI a source's libvirtd reaches it by
 *                        ({@code libvirt.migration-uri})
 */
public record AgentConfig(String listenHost, int listenPort, String migrationHost, Path tlsKey, Path tlsCert, Path tlsCa,
                          Set<String> allowedClients, boolean insecure, Path stateDir, Path controlSocket,
                          List<Path> imageDirs, String qemuBinary, Map<String, Path> vms, Duration timeout,
                          Duration tokenTtl, long pullBandwidth, long linkBandwidth, LogLevel logLevel, HostPort metricsListen,
                          QemuPolicy qemuPolicy, boolean qemuStreamsTls, JournalRetention journalRetention,
                          ControlSocketOptions controlOptions, MemoryPolicy memory,
                          ChunkCompression compression, AfterSwitchover afterSwitchover, DedupConfig dedup,
                          LibvirtSettings libvirt) {
    public static final int DEFAULT_PORT = 7410;
    public static final Path DEFAULT_FILE = Path.of("/etc/vmmig/vmmig.conf");
    public static final Path DEFAULT_CONTROL_SOCKET = Path.of("/run/vmmig/control.sock");

    public AgentConfig {
        if (pullBandwidth < 0) throw new IllegalArgumentException("pull bandwidth must be >= 0, got " + pullBandwidth);
        if (linkBandwidth < 0) throw new IllegalArgumentException("link bandwidth must be >= 0, got " + linkBandwidth);
        java.util.Objects.requireNonNull(logLevel, "logLevel");
        allowedClients = Set.copyOf(allowedClients);
        imageDirs = List.copyOf(imageDirs);
        vms = Map.copyOf(vms);
        if (insecure) qemuStreamsTls = false;
        if (qemuPolicy == null) qemuPolicy = QemuPolicy.defaults();
        if (journalRetention == null) journalRetention = JournalRetention.DEFAULT;
        if (controlOptions == null) controlOptions = ControlSocketOptions.defaults();
        if (memory == null) memory = MemoryPolicy.defaults();
        if (compression == null) compression = ChunkCompression.ADAPTIVE;
        if (afterSwitchover == null) afterSwitchover = AfterSwitchover.DEFAULTS;
        if (dedup == null) dedup = DedupConfig.defaults();
        if (libvirt == null) libvirt = LibvirtSettings.defaults(migrationHost);
    }

    /** This configuration with {@code level} (the agent's {@code --log-level}). */
    public AgentConfig withLogLevel(LogLevel level) {
        return toBuilder().logLevel(level).build();
    }

    /** Where the dedup index is kept. */
    public Path dedupIndexDir() {
        return dedup.indexDir() != null ? dedup.indexDir() : stateDir.resolve("dedup");
    }

    /** This configuration with {@code d} as its dedup settings. */
    public AgentConfig withDedup(DedupConfig d) {
        return toBuilder().dedup(d).build();
    }

    /** A builder with the config file's defaults: an empty file, except that no TLS files are named. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration, to change some of it. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.listenHost = listenHost;
        b.listenPort = listenPort;
        b.migrationHost = migrationHost;
        b.tlsKey = tlsKey;
        b.tlsCert = tlsCert;
        b.tlsCa = tlsCa;
        b.allowedClients = allowedClients;
        b.insecure = insecure;
        b.stateDir = stateDir;
        b.controlSocket = controlSocket;
        b.imageDirs = imageDirs;
        b.qemuBinary = qemuBinary;
        b.vms = vms;
        b.timeout = timeout;
        b.tokenTtl = tokenTtl;
        b.pullBandwidth = pullBandwidth;
        b.linkBandwidth = linkBandwidth;
        b.logLevel = logLevel;
        b.metricsListen = metricsListen;
        b.qemuPolicy = qemuPolicy;
        b.qemuStreamsTls = qemuStreamsTls;
        b.journalRetention = journalRetention;
        b.controlOptions = controlOptions;
        b.memory = memory;
        b.compression = compression;
        b.afterSwitchover = afterSwitchover;
        b.dedup = dedup;
        b.libvirt = libvirt;
        return b;
    }

    /**
     * Named settings instead of 27 positional ones: {@code AgentConfig.builder().stateDir(d).insecure(true).build()}.
     * Unset values take the config file's defaults (the migration host is the listen host, the token TTL the
     * timeout, the image dir {@code STATE-DIR/images}).
     */
    public static final class Builder {
        private String listenHost = "127.0.0.1";
        private int listenPort = DEFAULT_PORT;
        private String migrationHost = null;
        private Path tlsKey = null;
        private Path tlsCert = null;
        private Path tlsCa = null;
        private Set<String> allowedClients = Set.of();
        private boolean insecure = false;
        private Path stateDir = Path.of("/var/lib/vmmig");
        private Path controlSocket = DEFAULT_CONTROL_SOCKET;
        private List<Path> imageDirs = null;
        private String qemuBinary = "qemu-system-x86_64";
        private Map<String, Path> vms = Map.of();
        private Duration timeout = Duration.ofSeconds(600);
        private Duration tokenTtl = null;
        private long pullBandwidth = 0;
        private long linkBandwidth = 0;
        private LogLevel logLevel = LogLevel.INFO;
        private HostPort metricsListen = null;
        private QemuPolicy qemuPolicy = null;
        private boolean qemuStreamsTls = true;
        private JournalRetention journalRetention = null;
        private ControlSocketOptions controlOptions = null;
        private MemoryPolicy memory = null;
        private ChunkCompression compression = null;
        private AfterSwitchover afterSwitchover = null;
        private DedupConfig dedup = null;
        private LibvirtSettings libvirt = null;

        private Builder() {
        }

        public Builder listenHost(String v) {
            this.listenHost = v;
            return this;
        }

        public Builder listenPort(int v) {
            this.listenPort = v;
            return this;
        }

        public Builder migrationHost(String v) {
            this.migrationHost = v;
            return this;
        }

        public Builder tlsKey(Path v) {
            this.tlsKey = v;
            return this;
        }

        public Builder tlsCert(Path v) {
            this.tlsCert = v;
            return this;
        }

        public Builder tlsCa(Path v) {
            this.tlsCa = v;
            return this;
        }

        public Builder allowedClients(Set<String> v) {
            this.allowedClients = v;
            return this;
        }

        public Builder insecure(boolean v) {
            this.insecure = v;
            return this;
        }

        public Builder stateDir(Path v) {
            this.stateDir = v;
            return this;
        }

        public Builder controlSocket(Path v) {
            this.controlSocket = v;
            return this;
        }

        public Builder imageDirs(List<Path> v) {
            this.imageDirs = v;
            return this;
        }

        public Builder qemuBinary(String v) {
            this.qemuBinary = v;
            return this;
        }

        public Builder vms(Map<String, Path> v) {
            this.vms = v;
            return this;
        }

        public Builder timeout(Duration v) {
            this.timeout = v;
            return this;
        }

        public Builder tokenTtl(Duration v) {
            this.tokenTtl = v;
            return this;
        }

        public Builder pullBandwidth(long v) {
            this.pullBandwidth = v;
            return this;
        }

        /** As a source: bytes/s all outgoing migrations may take together, disk push and memory (0: no common limit). */
        public Builder linkBandwidth(long v) {
            this.linkBandwidth = v;
            return this;
        }

        public Builder logLevel(LogLevel v) {
            this.logLevel = v;
            return this;
        }

        public Builder metricsListen(HostPort v) {
            this.metricsListen = v;
            return this;
        }

        public Builder qemuPolicy(QemuPolicy v) {
            this.qemuPolicy = v;
            return this;
        }

        public Builder qemuStreamsTls(boolean v) {
            this.qemuStreamsTls = v;
            return this;
        }

        public Builder journalRetention(JournalRetention v) {
            this.journalRetention = v;
            return this;
        }

        public Builder controlOptions(ControlSocketOptions v) {
            this.controlOptions = v;
            return this;
        }

        public Builder memory(MemoryPolicy v) {
            this.memory = v;
            return this;
        }

        public Builder compression(ChunkCompression v) {
            this.compression = v;
            return this;
        }

        public Builder afterSwitchover(AfterSwitchover v) {
            this.afterSwitchover = v;
            return this;
        }

        public Builder dedup(DedupConfig v) {
            this.dedup = v;
            return this;
        }

        public Builder libvirt(LibvirtSettings v) {
            this.libvirt = v;
            return this;
        }

        public AgentConfig build() {
            return new AgentConfig(listenHost, listenPort, migrationHost != null ? migrationHost : listenHost, tlsKey, tlsCert, tlsCa,
                    allowedClients, insecure, stateDir, controlSocket, imageDirs == null ? List.of(stateDir.resolve("images")) : imageDirs,
                    qemuBinary, vms, timeout, tokenTtl != null ? tokenTtl : timeout, pullBandwidth, linkBandwidth, logLevel, metricsListen, qemuPolicy,
                    qemuStreamsTls, journalRetention, controlOptions, memory, compression, afterSwitchover, dedup, libvirt);
        }
    }
}
