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
                          Duration tokenTtl, long pullBandwidth, LogLevel logLevel, HostPort metricsListen,
                          QemuPolicy qemuPolicy, boolean qemuStreamsTls, JournalRetention journalRetention,
                          ControlSocketOptions controlOptions, MemoryPolicy memory,
                          ChunkCompression compression, AfterSwitchover afterSwitchover, DedupConfig dedup,
                          LibvirtSettings libvirt) {
    public static final int DEFAULT_PORT = 7410;
    public static final Path DEFAULT_FILE = Path.of("/etc/vmmig/vmmig.conf");
    public static final Path DEFAULT_CONTROL_SOCKET = Path.of("/run/vmmig/control.sock");

    /** The default memory migration settings (and the rest as they are below). */
    public AgentConfig(String listenHost, int listenPort, String migrationHost, Path tlsKey, Path tlsCert, Path tlsCa,
                       Set<String> allowedClients, boolean insecure, Path stateDir, Path controlSocket,
                       List<Path> imageDirs, String qemuBinary, Map<String, Path> vms, Duration timeout,
                       Duration tokenTtl, long pullBandwidth, LogLevel logLevel, HostPort metricsListen,
                       QemuPolicy qemuPolicy, boolean qemuStreamsTls, JournalRetention journalRetention,
                       ControlSocketOptions controlOptions) {
        this(listenHost, listenPort, migrationHost, tlsKey, tlsCert, tlsCa, allowedClients, insecure, stateDir, controlSocket,
                imageDirs, qemuBinary, vms, timeout, tokenTtl, pullBandwidth, logLevel, metricsListen, qemuPolicy, qemuStreamsTls,
                journalRetention, controlOptions, null);
    }

    /** libvirt's defaults ({@code qemu:///system}, {@code qemu+tls://MIGRATION-ADDRESS/system}). */
    public AgentConfig(String listenHost, int listenPort, String migrationHost, Path tlsKey, Path tlsCert, Path tlsCa,
                       Set<String> allowedClients, boolean insecure, Path stateDir, Path controlSocket,
                       List<Path> imageDirs, String qemuBinary, Map<String, Path> vms, Duration timeout, Duration tokenTtl,
                       long pullBandwidth, LogLevel logLevel, HostPort metricsListen, QemuPolicy qemuPolicy,
                       boolean qemuStreamsTls, JournalRetention journalRetention, ControlSocketOptions controlOptions,
                       MemoryPolicy memory, ChunkCompression compression, AfterSwitchover afterSwitchover, DedupConfig dedup) {
        this(listenHost, listenPort, migrationHost, tlsKey, tlsCert, tlsCa, allowedClients, insecure, stateDir, controlSocket,
                imageDirs, qemuBinary, vms, timeout, tokenTtl, pullBandwidth, logLevel, metricsListen, qemuPolicy, qemuStreamsTls,
                journalRetention, controlOptions, memory, compression, afterSwitchover, dedup, null);
    }

    /** No pull limit, logging at INFO, no metrics. */
    public AgentConfig(String listenHost, int listenPort, String migrationHost, Path tlsKey, Path tlsCert, Path tlsCa,
                       Set<String> allowedClients, boolean insecure, Path stateDir, Path controlSocket,
                       List<Path> imageDirs, String qemuBinary, Map<String, Path> vms, Duration timeout, Duration tokenTtl) {
        this(listenHost, listenPort, migrationHost, tlsKey, tlsCert, tlsCa, allowedClients, insecure, stateDir, controlSocket,
                imageDirs, qemuBinary, vms, timeout, tokenTtl, 0);
    }

    /** Logging at INFO, no metrics. */
    public AgentConfig(String listenHost, int listenPort, String migrationHost, Path tlsKey, Path tlsCert, Path tlsCa,
                       Set<String> allowedClients, boolean insecure, Path stateDir, Path controlSocket,
                       List<Path> imageDirs, String qemuBinary, Map<String, Path> vms, Duration timeout, Duration tokenTtl,
                       long pullBandwidth) {
        this(listenHost, listenPort, migrationHost, tlsKey, tlsCert, tlsCa, allowedClients, insecure, stateDir, controlSocket,
                imageDirs, qemuBinary, vms, timeout, tokenTtl, pullBandwidth, LogLevel.INFO, null, null, true);
    }

    /** The default journal retention, control socket options (root only) and memory migration settings. */
    public AgentConfig(String listenHost, int listenPort, String migrationHost, Path tlsKey, Path tlsCert, Path tlsCa,
                       Set<String> allowedClients, boolean insecure, Path stateDir, Path controlSocket,
                       List<Path> imageDirs, String qemuBinary, Map<String, Path> vms, Duration timeout, Duration tokenTtl,
                       long pullBandwidth, LogLevel logLevel, HostPort metricsListen, QemuPolicy qemuPolicy, boolean qemuStreamsTls) {
        this(listenHost, listenPort, migrationHost, tlsKey, tlsCert, tlsCa, allowedClients, insecure, stateDir, controlSocket,
                imageDirs, qemuBinary, vms, timeout, tokenTtl, pullBandwidth, logLevel, metricsListen, qemuPolicy, qemuStreamsTls,
                null, null, null, null, null, null);
    }

    /** QEMU's streams in TLS (unless insecure). */
    public AgentConfig(String listenHost, int listenPort, String migrationHost, Path tlsKey, Path tlsCert, Path tlsCa,
                       Set<String> allowedClients, boolean insecure, Path stateDir, Path controlSocket,
                       List<Path> imageDirs, String qemuBinary, Map<String, Path> vms, Duration timeout, Duration tokenTtl,
                       long pullBandwidth, LogLevel logLevel, HostPort metricsListen, QemuPolicy qemuPolicy) {
        this(listenHost, listenPort, migrationHost, tlsKey, tlsCert, tlsCa, allowedClients, insecure, stateDir, controlSocket,
                imageDirs, qemuBinary, vms, timeout, tokenTtl, pullBandwidth, logLevel, metricsListen, qemuPolicy, true);
    }

    /** Adaptive compression, the default announce-self and no post-switchover hook. */
    public AgentConfig(String listenHost, int listenPort, String migrationHost, Path tlsKey, Path tlsCert, Path tlsCa,
                       Set<String> allowedClients, boolean insecure, Path stateDir, Path controlSocket,
                       List<Path> imageDirs, String qemuBinary, Map<String, Path> vms, Duration timeout, Duration tokenTtl,
                       long pullBandwidth, LogLevel logLevel, HostPort metricsListen, QemuPolicy qemuPolicy,
                       boolean qemuStreamsTls, JournalRetention journalRetention, ControlSocketOptions controlOptions,
                       MemoryPolicy memory) {
        this(listenHost, listenPort, migrationHost, tlsKey, tlsCert, tlsCa, allowedClients, insecure, stateDir, controlSocket,
                imageDirs, qemuBinary, vms, timeout, tokenTtl, pullBandwidth, logLevel, metricsListen, qemuPolicy, qemuStreamsTls,
                journalRetention, controlOptions, memory, null, null);
    }

    /** The default QEMU policy. */
    public AgentConfig(String listenHost, int listenPort, String migrationHost, Path tlsKey, Path tlsCert, Path tlsCa,
                       Set<String> allowedClients, boolean insecure, Path stateDir, Path controlSocket,
                       List<Path> imageDirs, String qemuBinary, Map<String, Path> vms, Duration timeout, Duration tokenTtl,
                       long pullBandwidth, LogLevel logLevel, HostPort metricsListen) {
        this(listenHost, listenPort, migrationHost, tlsKey, tlsCert, tlsCa, allowedClients, insecure, stateDir, controlSocket,
                imageDirs, qemuBinary, vms, timeout, tokenTtl, pullBandwidth, logLevel, metricsListen, null);
    }

    /** Dedup with its defaults. */
    public AgentConfig(String listenHost, int listenPort, String migrationHost, Path tlsKey, Path tlsCert, Path tlsCa,
                       Set<String> allowedClients, boolean insecure, Path stateDir, Path controlSocket,
                       List<Path> imageDirs, String qemuBinary, Map<String, Path> vms, Duration timeout,
                       Duration tokenTtl, long pullBandwidth, LogLevel logLevel, HostPort metricsListen,
                       QemuPolicy qemuPolicy, boolean qemuStreamsTls, JournalRetention journalRetention,
                       ControlSocketOptions controlOptions, MemoryPolicy memory,
                       ChunkCompression compression, AfterSwitchover afterSwitchover) {
        this(listenHost, listenPort, migrationHost, tlsKey, tlsCert, tlsCa, allowedClients, insecure, stateDir, controlSocket,
                imageDirs, qemuBinary, vms, timeout, tokenTtl, pullBandwidth, logLevel, metricsListen, qemuPolicy, qemuStreamsTls,
                journalRetention, controlOptions, memory, compression, afterSwitchover, null);
    }

    public AgentConfig {
        if (pullBandwidth < 0) throw new IllegalArgumentException("pull bandwidth must be >= 0, got " + pullBandwidth);
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
        return new AgentConfig(listenHost, listenPort, migrationHost, tlsKey, tlsCert, tlsCa, allowedClients, insecure, stateDir,
                controlSocket, imageDirs, qemuBinary, vms, timeout, tokenTtl, pullBandwidth, level, metricsListen, qemuPolicy,
                qemuStreamsTls, journalRetention, controlOptions, memory, compression, afterSwitchover, dedup, libvirt);
    }

    /** Where the dedup index is kept. */
    public Path dedupIndexDir() {
        return dedup.indexDir() != null ? dedup.indexDir() : stateDir.resolve("dedup");
    }

    /** This configuration with {@code d} as its dedup settings. */
    public AgentConfig withDedup(DedupConfig d) {
        return new AgentConfig(listenHost, listenPort, migrationHost, tlsKey, tlsCert, tlsCa, allowedClients, insecure, stateDir,
                controlSocket, imageDirs, qemuBinary, vms, timeout, tokenTtl, pullBandwidth, logLevel, metricsListen, qemuPolicy,
                qemuStreamsTls, journalRetention, controlOptions, memory, compression, afterSwitchover, d, libvirt);
    }
}
