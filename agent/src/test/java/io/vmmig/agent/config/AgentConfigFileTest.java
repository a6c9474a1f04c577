package io.vmmig.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentConfigFileTest {
    private static final String FILE = "/etc/vmmig/test.conf";
    private static final List<String> TLS = List.of(
            "tls.key = /pki/key.pem", "tls.cert = /pki/cert.pem", "tls.ca = /pki/ca.pem");

    private static AgentConfig parse(String... lines) throws ConfigException {
        return AgentConfigFile.parse(FILE, Arrays.asList(lines));
    }

    private static AgentConfig parseWithTls(String... lines) throws ConfigException {
        List<String> all = new ArrayList<>(TLS);
        all.addAll(Arrays.asList(lines));
        return AgentConfigFile.parse(FILE, all);
    }

    /** Parses {@code lines} expecting an error; returns its message. */
    private static String error(String... lines) {
        return assertThrows(ConfigException.class, () -> parse(lines)).getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String p : parts) assertTrue(message.contains(p), "expected '" + p + "' in: " + message);
    }

    @Test
    void defaultsWithOnlyTheTlsFiles() throws Exception {
        AgentConfig c = parseWithTls("# a comment", "", "   ");
        assertEquals("0.0.0.0", c.listenHost());
        assertEquals(AgentConfig.DEFAULT_PORT, c.listenPort());
        assertEquals(7410, c.listenPort());
        assertEquals("0.0.0.0", c.migrationHost(), "migration-address defaults to the listen host");
        assertEquals(Path.of("/pki/key.pem"), c.tlsKey());
        assertEquals(Path.of("/pki/cert.pem"), c.tlsCert());
        assertEquals(Path.of("/pki/ca.pem"), c.tlsCa());
        assertEquals(Set.of(), c.allowedClients());
        assertFalse(c.insecure());
        assertEquals(Path.of("/var/lib/vmmig"), c.stateDir());
        assertEquals(AgentConfig.DEFAULT_CONTROL_SOCKET, c.controlSocket());
        assertEquals(Path.of("/run/vmmig/control.sock"), c.controlSocket());
        assertEquals(List.of(Path.of("/var/lib/vmmig/images")), c.imageDirs());
        assertEquals("qemu-system-x86_64", c.qemuBinary());
        assertEquals(Map.of(), c.vms());
        assertEquals(Duration.ofSeconds(600), c.timeout());
        assertTrue(c.qemuStreamsTls(), "QEMU's streams are TLS whenever the agents are");
        assertEquals(0, c.pullBandwidth(), "the background pull is not limited by default");
    }

    @Test
    void pullBandwidth() throws Exception {
        assertEquals(1048576, parseWithTls("pull-bandwidth = 1048576").pullBandwidth());
        assertEquals(0, parseWithTls("pull-bandwidth = 0").pullBandwidth());
        assertMentions(error("insecure = true", "pull-bandwidth = -5"), FILE, "line 2", "'pull-bandwidth' must be a positive number", "'-5'");
    }

    @Test
    void memorySettings() throws Exception {
        assertEquals(MemoryPolicy.defaults(), parseWithTls().memory(), "nothing set: the link budget or unlimited, 300 ms, no throttling");
        assertEquals(new MemoryPolicy(MemoryPolicy.UNLIMITED, 300, false), parseWithTls("memory.max-bandwidth = unlimited").memory());
        assertEquals(new MemoryPolicy(125_000_000L, 120, true), parseWithTls("memory.max-bandwidth = 125000000",
                "memory.downtime-limit = 120", "memory.auto-converge = yes").memory());
        assertMentions(error("insecure = true", "memory.downtime-limit = 0"), "line 2", "'memory.downtime-limit' must be a positive number");
        assertMentions(error("insecure = true", "memory.downtime-limit = 2000001"), "line 2", "at most 2000000 ms");
        assertMentions(error("insecure = true", "memory.max-bandwidth = fast"), "line 2", "'memory.max-bandwidth' must be a positive number", "'fast'");
        assertMentions(error("insecure = true", "memory.max-bandwidth ="), "line 2", "'memory.max-bandwidth' is empty");
        assertMentions(error("insecure = true", "memory.auto-converge = maybe"), "line 2", "must be true or false");
    }

    @Test
    void dedupKeys() throws Exception {
        AgentConfig d = parseWithTls("state-dir = /data/vmmig");
        assertTrue(d.dedup().enabled(), "on by default");
        assertEquals(Path.of("/data/vmmig/dedup"), d.dedupIndexDir());
        assertEquals(64 * 1024, d.dedup().chunkSize());
        assertEquals(java.time.Duration.ofMinutes(1), d.dedup().settle());
        AgentConfig c = parseWithTls("dedup = off", "dedup.neighbour-dirs = /srv/images, /srv/base", "dedup.index-dir = /idx",
                "dedup.chunk-size = 262144", "dedup.rescan = 30", "dedup.settle = 0");
        assertFalse(c.dedup().enabled());
        assertEquals(java.util.List.of(Path.of("/srv/images"), Path.of("/srv/base")), c.dedup().neighbourDirs());
        assertEquals(Path.of("/idx"), c.dedupIndexDir());
        assertEquals(262144, c.dedup().chunkSize());
        assertEquals(java.time.Duration.ofSeconds(30), c.dedup().rescan());
        assertEquals(java.time.Duration.ZERO, c.dedup().settle());
        assertMentions(error("insecure = true", "dedup = maybe"), FILE, "line 2", "'dedup' must be on or off", "'maybe'");
        assertMentions(error("insecure = true", "dedup.chunk-size = 65535"), FILE, "line 2", "power of two");
        assertMentions(error("insecure = true", "dedup.neighbour-dirs = images"), FILE, "line 2", "absolute path");
    }

    @Test
    void compressionAndTheNetworkAfterTheSwitchover() throws Exception {
        AgentConfig d = parseWithTls();
        assertEquals(io.vmmig.strategy.peer.ChunkCompression.ADAPTIVE, d.compression());
        assertEquals(AfterSwitchover.DEFAULTS, d.afterSwitchover());
        AgentConfig c = parseWithTls("compression = zstd", "announce.rounds = 0", "announce.step = 20",
                "post-switchover = /usr/local/bin/reroute", "post-switchover.timeout = 5");
        assertEquals(io.vmmig.strategy.peer.ChunkCompression.ZSTD, c.compression());
        assertEquals(0, c.afterSwitchover().announceRounds());
        assertEquals(20, c.afterSwitchover().announceStepMs());
        assertEquals(java.nio.file.Path.of("/usr/local/bin/reroute"), c.afterSwitchover().hook());
        assertEquals(java.time.Duration.ofSeconds(5), c.afterSwitchover().hookTimeout());
        assertMentions(error("insecure = true", "compression = lz4"), FILE, "line 2", "'compression'", "'lz4'");
        assertMentions(error("insecure = true", "post-switchover = reroute"), FILE, "line 2", "absolute path");
        assertMentions(error("insecure = true", "announce.rounds = -1"), FILE, "line 2", "'announce.rounds' must be a positive number");
    }

    @Test
    void everyKey() throws Exception {
        AgentConfig c = parse(
                "listen = 192.0.2.1:7500",
                "migration-address = 10.0.0.2",
                "tls.key = /etc/vmmig/pki/agent-key.pem",
                "tls.cert = /etc/vmmig/pki/agent-cert.pem",
                "tls.ca = /etc/vmmig/pki/ca-cert.pem",
                "tls.allowed-clients = host-a, host-b,,  ",
                "tls.qemu-streams = false",
                "insecure = no",
                "state-dir = /srv/vmmig-state",
                "control-socket = /run/other/control.sock",
                "image-dirs = /srv/images , /var/lib/images",
                "qemu = /opt/qemu/bin/qemu-system-x86_64",
                "timeout = 42",
                "vm.web1 = /run/vms/web1/qmp.sock",
                "  vm.db_2.x-y = /run/vms/db/qmp.sock  ");
        assertEquals("192.0.2.1", c.listenHost());
        assertEquals(7500, c.listenPort());
        assertEquals("10.0.0.2", c.migrationHost());
        assertEquals(Path.of("/etc/vmmig/pki/agent-key.pem"), c.tlsKey());
        assertEquals(Path.of("/etc/vmmig/pki/agent-cert.pem"), c.tlsCert());
        assertEquals(Path.of("/etc/vmmig/pki/ca-cert.pem"), c.tlsCa());
        assertEquals(Set.of("host-a", "host-b"), c.allowedClients());
        assertFalse(c.insecure());
        assertFalse(c.qemuStreamsTls());
        assertEquals(Path.of("/srv/vmmig-state"), c.stateDir());
        assertEquals(Path.of("/run/other/control.sock"), c.controlSocket());
        assertEquals(List.of(Path.of("/srv/images"), Path.of("/var/lib/images")), c.imageDirs(), "in order, the first is the default");
        assertEquals("/opt/qemu/bin/qemu-system-x86_64", c.qemuBinary());
        assertEquals(Duration.ofSeconds(42), c.timeout());
        assertEquals(Map.of("web1", Path.of("/run/vms/web1/qmp.sock"), "db_2.x-y", Path.of("/run/vms/db/qmp.sock")), c.vms());
    }

    @Test
    void insecureNeedsNoTlsFiles() throws Exception {
        AgentConfig c = parse("insecure = true", "listen = 127.0.0.1:0");
        assertTrue(c.insecure());
        assertNull(c.tlsKey());
        assertEquals(0, c.listenPort(), "port 0: the system picks one (tests)");
        assertFalse(c.qemuStreamsTls(), "insecure agents keep QEMU's streams in plain TCP too");
        assertTrue(parse("insecure = yes").insecure());
    }

    @Test
    void listenWithoutPortUsesTheDefaultPortAndStateDirMovesTheDefaultImageDir() throws Exception {
        AgentConfig c = parseWithTls("listen = agent.example", "state-dir = /data/vmmig");
        assertEquals("agent.example", c.listenHost());
        assertEquals(7410, c.listenPort());
        assertEquals("agent.example", c.migrationHost());
        assertEquals(List.of(Path.of("/data/vmmig/images")), c.imageDirs());
    }

    @Test
    void trailingCommentsAfterAValueAreIgnored() throws Exception {
        // the documented example has comments after values
        AgentConfig c = parseWithTls(
                "listen = 0.0.0.0:7411                # peer listener (HOST:PORT)",
                "insecure = false                     # true: plain TCP between agents (labs only)",
                "timeout = 90\t# seconds",
                "vm.web1 = /run/vms/web1/qmp.sock     # VM names the CLI may use");
        assertEquals(7411, c.listenPort());
        assertFalse(c.insecure());
        assertEquals(Duration.ofSeconds(90), c.timeout());
        assertEquals(Path.of("/run/vms/web1/qmp.sock"), c.vms().get("web1"));
        // a '#' inside a value (no blank before it) is part of the value
        assertEquals("/opt/q#1/qemu", parse("insecure = true", "qemu = /opt/q#1/qemu").qemuBinary());
    }

    @Test
    void readsAFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("vmmig.conf");
        Files.writeString(f, "insecure = true\nlisten = 127.0.0.1:9000\n");
        AgentConfig c = AgentConfigFile.read(f);
        assertEquals(9000, c.listenPort());
        String missing = assertThrows(ConfigException.class, () -> AgentConfigFile.read(dir.resolve("none.conf"))).getMessage();
        assertMentions(missing, "cannot read the agent configuration", dir.resolve("none.conf").toString());
    }

    @Test
    void logLevelAndMetrics() throws Exception {
        AgentConfig d = parseWithTls();
        assertEquals(LogLevel.INFO, d.logLevel(), "operators see one line per phase by default");
        assertNull(d.metricsListen(), "no /metrics unless asked");
        AgentConfig c = parseWithTls("log-level = DEBUG", "metrics.listen = 127.0.0.1:9741");
        assertEquals(LogLevel.DEBUG, c.logLevel());
        assertEquals(new HostPort("127.0.0.1", 9741), c.metricsListen());
        assertEquals(new HostPort("::", 9741), parseWithTls("metrics.listen = [::]:9741").metricsListen());
        assertMentions(assertThrows(ConfigException.class, () -> parseWithTls("log-level = loud")).getMessage(),
                FILE + " line 4", "'log-level'", "'loud' is not a log level");
        assertMentions(assertThrows(ConfigException.class, () -> parseWithTls("metrics.listen = 127.0.0.1")).getMessage(),
                "line 4", "'metrics.listen' needs a port");
        assertMentions(assertThrows(ConfigException.class, () -> parseWithTls("metrics.listen = ")).getMessage(),
                "line 4", "'metrics.listen' is empty");
    }

    @Test
    void ipv6Listen() throws Exception {
        AgentConfig c = parseWithTls("listen = [::]:7500");
        assertEquals("::", c.listenHost());
        assertEquals(7500, c.listenPort());
        assertEquals("::", c.migrationHost());
        assertEquals("::1", parseWithTls("listen = [::1]").listenHost());
        assertEquals(7410, parseWithTls("listen = [::1]").listenPort());
        assertEquals("2001:db8::2", parseWithTls("migration-address = [2001:db8::2]").migrationHost());
        assertMentions(assertThrows(ConfigException.class, () -> parseWithTls("listen = [::1:7410")).getMessage(),
                "line 4", "'listen'", "no ']'");
    }

    @Test
    void emptyValuesThatHaveNoMeaningAreRefused() {
        assertMentions(assertThrows(ConfigException.class, () -> parseWithTls("qemu =")).getMessage(),
                FILE + " line 4", "'qemu' is empty");
        assertMentions(assertThrows(ConfigException.class, () -> parseWithTls("listen = ")).getMessage(), "'listen' is empty");
    }

    @Test
    void journalRetentionHasADefaultAndRefusesNonsense() throws Exception {
        assertEquals(JournalRetention.DEFAULT, parseWithTls().journalRetention());
        assertEquals(new JournalRetention(5, Duration.ofDays(2)), parseWithTls("journal.keep = 5", "journal.max-age-days = 2").journalRetention());
        assertMentions(assertThrows(ConfigException.class, () -> parseWithTls("journal.keep = 0")).getMessage(),
                "'journal.keep' must be a positive number, got '0'");
        assertMentions(assertThrows(ConfigException.class, () -> parseWithTls("journal.max-age-days = soon")).getMessage(),
                "'journal.max-age-days' must be a positive number");
    }

    @Test
    void theExampleConfigurationParses() throws Exception {
        Path example = Path.of(System.getProperty("user.dir")).resolveSibling("packaging").resolve("vmmig.conf.example");
        assertTrue(Files.exists(example), "missing " + example);
        List<String> lines = Files.readAllLines(example);
        // as shipped (everything commented out) it is the defaults, which need the TLS files
        assertMentions(assertThrows(ConfigException.class, () -> AgentConfigFile.parse("example", lines)).getMessage(),
                "tls.key, tls.cert and tls.ca are required");
        // every documented key, uncommented, is accepted
        List<String> uncommented = new ArrayList<>();
        for (String l : lines) {
            String s = l.strip();
            if (s.startsWith("#") && s.substring(1).strip().matches("[a-z][a-z.-]*[a-z0-9] *=.*")) uncommented.add(s.substring(1));
        }
        AgentConfig c = AgentConfigFile.parse("example", uncommented);
        assertEquals(Path.of("/etc/vmmig/pki/agent-key.pem"), c.tlsKey());
        assertFalse(c.vms().isEmpty(), "the example shows a vm.NAME entry");
        assertTrue(uncommented.size() >= 17, "every key in the example: " + uncommented);
        assertEquals(QemuPolicy.DEFAULT_KERNEL_DIRS, c.qemuPolicy().kernelDirs(), "the example shows the default kernel dirs");
        assertEquals(QemuPolicy.DEFAULT_CHARDEV_DIRS, c.qemuPolicy().chardevDirs(), "the example shows the default chardev dirs");
        assertTrue(c.qemuPolicy().allowsTap("vnet12") && c.qemuPolicy().allowsTap("tap-web1") && !c.qemuPolicy().allowsTap("eth0"));
        assertEquals("libvirt-qemu", c.qemuPolicy().runas());
        assertEquals(JournalRetention.DEFAULT, c.journalRetention(), "the example shows the default retention");
    }

    @Test
    void qemuPolicyKeys() throws Exception {
        AgentConfig d = AgentConfigFile.parse(FILE, List.of("insecure = true"));
        assertEquals(QemuPolicy.defaults(), d.qemuPolicy());
        AgentConfig c = AgentConfigFile.parse(FILE, List.of("insecure = true", "allowed.kernel-dirs = /srv/boot, /usr/share/qemu",
                "allowed.chardev-dirs =", "allowed.taps = vnet*", "qemu.runas = qemu"));
        assertEquals(List.of(Path.of("/srv/boot"), Path.of("/usr/share/qemu")), c.qemuPolicy().kernelDirs());
        assertEquals(List.of(), c.qemuPolicy().chardevDirs(), "an empty list allows no chardev path");
        assertEquals("qemu", c.qemuPolicy().runas());
        assertMentions(error("insecure = true", "allowed.kernel-dirs = boot"), FILE, "line 2", "'allowed.kernel-dirs' must be an absolute path");
        assertMentions(error("insecure = true", "allowed.taps = vnet0;rm"), FILE, "line 2", "bad tap name 'vnet0;rm'");
        assertMentions(error("insecure = true", "qemu.runas = Root User"), FILE, "line 2", "bad user name");
    }

    @Test
    void unknownKeyNamesFileLineAndKey() {
        String m = error("insecure = true", "", "listne = 1.2.3.4:7410");
        assertMentions(m, FILE, "line 3", "unknown key 'listne'", "listen");
    }

    @Test
    void repeatedKeyNamesTheSecondLine() {
        assertMentions(error("insecure = true", "qemu = a", "qemu = b"), FILE, "line 3", "'qemu' set twice");
    }

    @Test
    void lineWithoutEqualsSign() {
        assertMentions(error("insecure = true", "listen 1.2.3.4"), FILE, "line 2", "expected 'key = value'", "listen 1.2.3.4");
        assertMentions(error("= value"), FILE, "line 1", "expected 'key = value'");
    }

    @Test
    void badPorts() {
        assertMentions(error("insecure = true", "listen = 0.0.0.0:http"), FILE, "line 2", "bad port 'http'", "listen");
        assertMentions(error("insecure = true", "listen = 0.0.0.0:65536"), FILE, "line 2", "bad port '65536'");
        assertMentions(error("listen = 0.0.0.0:-1", "insecure = true"), FILE, "line 1", "bad port '-1'");
    }

    @Test
    void relativePaths() {
        assertMentions(error("tls.key = key.pem", "tls.cert = /c", "tls.ca = /ca"), FILE, "line 1", "'tls.key' must be an absolute path", "'key.pem'");
        assertMentions(error("insecure = true", "state-dir = var/lib"), FILE, "line 2", "'state-dir'", "absolute");
        assertMentions(error("insecure = true", "control-socket = ctl.sock"), FILE, "line 2", "'control-socket'", "absolute");
        assertMentions(error("insecure = true", "", "image-dirs = /ok, images"), FILE, "line 3", "'image-dirs'", "'images'", "absolute");
        assertMentions(error("insecure = true", "vm.web1 = qmp.sock"), FILE, "line 2", "'vm.web1'", "absolute");
    }

    @Test
    void badBoolean() {
        assertMentions(error("insecure = maybe"), FILE, "line 1", "'insecure' must be true or false", "'maybe'");
    }

    @Test
    void badTimeout() {
        assertMentions(error("insecure = true", "timeout = 0"), FILE, "line 2", "'timeout' must be a positive number", "'0'");
        assertMentions(error("insecure = true", "timeout = 10m"), FILE, "line 2", "'10m'");
    }

    @Test
    void tlsFilesRequiredUnlessInsecure() {
        assertMentions(error(), FILE, "tls.key, tls.cert and tls.ca are required", "insecure = true");
        assertMentions(error("tls.key = /k", "tls.cert = /c"), FILE, "tls.ca");
        assertMentions(error("insecure = false", "tls.cert = /c", "tls.ca = /ca"), FILE, "required");
    }

    @Test
    void badVmNames() {
        assertMentions(error("insecure = true", "vm. = /run/x.sock"), FILE, "line 2", "bad VM name ''");
        assertMentions(error("insecure = true", "vm.web/1 = /run/x.sock"), FILE, "line 2", "bad VM name 'web/1'");
        assertMentions(error("insecure = true", "vm.web 1 = /run/x.sock"), FILE, "line 2", "bad VM name 'web 1'");
    }

    @Test
    void vmDefinedTwice() {
        assertMentions(error("insecure = true", "vm.web1 = /run/a.sock", "vm.web1 = /run/b.sock"), FILE, "line 3", "VM 'web1' defined twice");
    }

    @Test
    void controlSocketOptions() throws Exception {
        AgentConfig d = parseWithTls();
        assertEquals(ControlSocketOptions.defaults(), d.controlOptions(), "root only, 64 connections, 10 s");
        AgentConfig c = parseWithTls("control-socket.group = vmmig", "control-socket.max-connections = 8",
                "control-socket.idle-timeout = 3");
        assertEquals(new ControlSocketOptions("vmmig", 8, Duration.ofSeconds(3)), c.controlOptions());
        assertMentions(error("insecure = true", "control-socket.group = bad group"), FILE, "line 2", "bad group name 'bad group'");
        assertMentions(error("insecure = true", "control-socket.max-connections = 0"), FILE, "line 2",
                "'control-socket.max-connections' must be a positive number");
        assertMentions(error("insecure = true", "control-socket.max-connections = 100000"), FILE, "line 2", "at most 10000");
        assertMentions(error("insecure = true", "control-socket.idle-timeout = -1"), FILE, "line 2",
                "'control-socket.idle-timeout' must be a positive number");
    }
}
