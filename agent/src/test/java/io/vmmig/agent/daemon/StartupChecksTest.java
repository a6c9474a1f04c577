package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.config.HostPort;
import io.vmmig.agent.config.LogLevel;
import io.vmmig.testkit.pki.TestPki;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each check {@code vmmig agent} makes before starting: one line naming the key and the reason. */
class StartupChecksTest {
    @TempDir
    static Path dir;
    static TestPki pki;
    static Path bin;

    @BeforeAll
    static void pki() throws Exception {
        pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
        pki.ca("ca", "test-ca");
        pki.ca("other-ca", "other-ca");
        pki.leaf("host-a", "host-a", "IP:127.0.0.1", "ca");
        pki.leaf("host-b", "host-b", "IP:127.0.0.1", "ca");
        pki.leaf("host-rsa", "host-rsa", "IP:127.0.0.1", "ca", true);
        pki.leaf("stranger", "stranger", "IP:127.0.0.1", "other-ca");
        // a PATH with executable qemu binaries (their content does not matter to the checks)
        bin = Files.createDirectories(dir.resolve("bin"));
        for (String b : List.of("qemu-system-x86_64", "qemu-img")) {
            Path p = Files.writeString(bin.resolve(b), "#!/bin/sh\n");
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    private static AgentConfig config(Path key, Path cert, Path ca, String qemu, HostPort listen, HostPort metrics) {
        return AgentConfig.builder()
                .listenHost(listen.host())
                .listenPort(listen.port())
                .migrationHost(listen.host())
                .tlsKey(key)
                .tlsCert(cert)
                .tlsCa(ca)
                .allowedClients(Set.of())
                .insecure(key == null)
                .stateDir(dir.resolve("state"))
                .controlSocket(dir.resolve("control.sock"))
                .imageDirs(List.of(dir.resolve("images")))
                .qemuBinary(qemu)
                .vms(Map.of())
                .timeout(Duration.ofSeconds(60))
                .tokenTtl(Duration.ofSeconds(60))
                .pullBandwidth(0)
                .logLevel(LogLevel.INFO)
                .metricsListen(metrics)
                .build();
    }

    private static AgentConfig tls(String keyOf, String certOf) {
        return config(pki.key(keyOf), pki.cert(certOf), pki.cert("ca"), "qemu-system-x86_64", new HostPort("127.0.0.1", 0), null);
    }

    private static List<String> problems(AgentConfig c) {
        return new StartupChecks(k -> k.equals("PATH") ? bin.toString() : null).problems(c);
    }

    @Test
    void aWorkingConfigurationHasNoProblems() {
        assertEquals(List.of(), problems(tls("host-a", "host-a")));
        assertEquals(List.of(), problems(tls("host-rsa", "host-rsa")), "RSA keys too");
        assertEquals(List.of(), problems(config(null, null, null, bin.resolve("qemu-system-x86_64").toString(),
                new HostPort("127.0.0.1", 0), null)), "insecure: no TLS files");
    }

    @Test
    void aKeyThatIsNotTheCertificatesIsRefused() {
        List<String> p = problems(tls("host-b", "host-a"));
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).startsWith("tls.key = " + pki.key("host-b") + ": not the key of the certificate in tls.cert ("
                + pki.cert("host-a")), p.get(0));
        assertEquals(1, problems(tls("host-rsa", "host-a")).size(), "an RSA key for an EC certificate");
    }

    @Test
    void missingOrUnreadableFiles() throws Exception {
        Path none = dir.resolve("nowhere.pem");
        List<String> p = problems(config(none, none, pki.cert("ca"), "qemu-system-x86_64", new HostPort("127.0.0.1", 0), null));
        assertEquals(List.of("tls.cert = " + none + ": no such file", "tls.key = " + none + ": no such file"), p);
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a certificate\n");
        p = problems(config(garbage, pki.cert("host-a"), garbage, "qemu-system-x86_64", new HostPort("127.0.0.1", 0), null));
        assertEquals(2, p.size(), p.toString());
        assertTrue(p.get(0).startsWith("tls.ca = " + garbage + ": "), p.get(0));
        assertTrue(p.get(1).startsWith("tls.key = " + garbage + ": not a PKCS#8 PEM key"), p.get(1));
    }

    @Test
    void aCertificateFromAnotherCaIsAWarning() {
        AgentConfig c = tls("stranger", "stranger");
        assertEquals(List.of(), problems(c), "it can be right: peers that trust another CA");
        assertEquals(List.of("tls.cert = " + pki.cert("stranger") + ": not issued by the CA in tls.ca (" + pki.cert("ca")
                + "): its issuer is CN=other-ca; peers that trust only that CA will refuse this agent"),
                new StartupChecks(k -> bin.toString()).warnings(c));
        assertEquals(List.of(), new StartupChecks(k -> bin.toString()).warnings(tls("host-a", "host-a")));
    }

    @Test
    void qemuBinaries() throws Exception {
        Path notExecutable = Files.writeString(dir.resolve("qemu-plain"), "");
        HostPort any = new HostPort("127.0.0.1", 0);
        assertEquals(List.of("qemu = " + dir.resolve("none") + ": no such file"),
                problems(config(null, null, null, dir.resolve("none").toString(), any, null)));
        assertEquals(List.of("qemu = " + notExecutable + ": not executable"),
                problems(config(null, null, null, notExecutable.toString(), any, null)));
        assertEquals(List.of("qemu = qemu-system-aarch64: not found in PATH (" + bin + ")"),
                problems(config(null, null, null, "qemu-system-aarch64", any, null)));
        List<String> noPath = new StartupChecks(k -> k.equals("PATH") ? "/nonexistent" : null)
                .problems(config(null, null, null, "qemu-system-x86_64", any, null));
        assertEquals(List.of("qemu = qemu-system-x86_64: not found in PATH (/nonexistent)",
                "qemu-img (the destination creates images with it): not found in PATH (/nonexistent)"), noPath);
    }

    @Test
    void busyPorts() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            HostPort busy = new HostPort("127.0.0.1", taken.getLocalPort());
            List<String> p = problems(config(null, null, null, "qemu-system-x86_64", busy, busy));
            assertEquals(List.of("listen = " + busy + ": cannot listen: Address already in use",
                    "metrics.listen = " + busy + ": the same port as listen"), p);
            p = problems(config(null, null, null, "qemu-system-x86_64", new HostPort("127.0.0.1", 0), busy));
            assertEquals(List.of("metrics.listen = " + busy + ": cannot listen: Address already in use"), p);
            p = problems(config(null, null, null, "qemu-system-x86_64", new HostPort("no-such-host.invalid", 7410), null));
            assertTrue(p.size() == 1 && p.get(0).startsWith("listen = no-such-host.invalid:7410: cannot resolve"), p.toString());
        }
    }

    @Test
    void directoriesThatAreFiles() throws Exception {
        Path file = Files.writeString(dir.resolve("state-file"), "");
        AgentConfig c = AgentConfig.builder()
                .listenHost("127.0.0.1")
                .listenPort(0)
                .migrationHost("127.0.0.1")
                .allowedClients(Set.of())
                .insecure(true)
                .stateDir(file)
                .controlSocket(dir.resolve("c.sock"))
                .imageDirs(List.of(file))
                .qemuBinary("qemu-system-x86_64")
                .vms(Map.of())
                .timeout(Duration.ofSeconds(1))
                .tokenTtl(Duration.ofSeconds(1))
                .build();
        assertEquals(List.of("state-dir = " + file + ": not a directory", "image-dirs = " + file + ": not a directory"), problems(c));
    }

    private static AgentConfig withControlSocket(Path socket, String group) {
        return AgentConfig.builder()
                .listenHost("127.0.0.1")
                .listenPort(0)
                .migrationHost("127.0.0.1")
                .allowedClients(Set.of())
                .insecure(true)
                .stateDir(dir.resolve("state"))
                .controlSocket(socket)
                .imageDirs(List.of())
                .qemuBinary("qemu-system-x86_64")
                .vms(Map.of())
                .timeout(Duration.ofSeconds(1))
                .tokenTtl(Duration.ofSeconds(1))
                .pullBandwidth(0)
                .logLevel(io.vmmig.agent.config.LogLevel.INFO)
                .qemuStreamsTls(false)
                .controlOptions(new io.vmmig.agent.config.ControlSocketOptions(group, 64, Duration.ofSeconds(10)))
                .build();
    }

    @Test
    void aControlSocketPathThatIsAFileADirectoryOrALinkIsRefusedAndLeftIntact() throws Exception {
        Path file = Files.writeString(dir.resolve("vmmig.conf.typo"), "keep me\n");
        assertEquals(List.of("control-socket = " + file + ": a regular file is there, not a socket; the agent neither uses nor removes"
                + " it (a typo? point control-socket at a path of its own)"), problems(withControlSocket(file, null)));
        assertEquals("keep me\n", Files.readString(file));
        Path d = Files.createDirectories(dir.resolve("sockdir"));
        assertTrue(problems(withControlSocket(d, null)).get(0).contains(": a directory, not a socket path"));
        Path link = dir.resolve("link.sock");
        Files.deleteIfExists(link);
        Files.createSymbolicLink(link, file);
        assertTrue(problems(withControlSocket(link, null)).get(0).contains(": a symbolic link"));
        assertEquals("keep me\n", Files.readString(file));
        Path under = file.resolve("control.sock");
        assertTrue(problems(withControlSocket(under, null)).contains("control-socket = " + under + ": " + file + " is not a directory"),
                problems(withControlSocket(under, null)).toString());
        assertEquals(List.of(), problems(withControlSocket(dir.resolve("fresh/control.sock"), null)), "nothing there: fine");
    }

    @Test
    void aControlSocketGroupThatDoesNotExist() {
        Path s = dir.resolve("g/control.sock");
        assertEquals(List.of(), problems(withControlSocket(s, "root")));
        assertEquals(List.of("control-socket.group = no-such-group-vmmig: no such group on this host"),
                problems(withControlSocket(s, "no-such-group-vmmig")));
    }
}
