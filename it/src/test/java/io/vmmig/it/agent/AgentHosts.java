package io.vmmig.it.agent;

import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import io.vmmig.testkit.HarnessDirectory;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.pki.TestPki;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Two agents on this machine as two hosts: {@code a} (source) and {@code b} (destination), each with its
 * own state and image directories, certificates from one test CA (both valid for 127.0.0.1), and
 * control sockets; the test guest's kernel directory and the harness directory (consoles, monitors) are
 * allowed to incoming VMs. Extra configuration lines per agent can be given (e.g. another QEMU binary).
 */
final class AgentHosts implements AutoCloseable {
    final Path dir;
    final TestPki pki;
    final AgentProcess a;
    final AgentProcess b;
    /** The address a source dials {@code b} on. */
    final String hostB;

    private AgentHosts(Path dir, TestPki pki, AgentProcess a, AgentProcess b, String hostB) {
        this.dir = dir;
        this.pki = pki;
        this.a = a;
        this.b = b;
        this.hostB = hostB;
    }

    /** Two agents already started (in {@code dir/a} and {@code dir/b}), {@code b} reached at {@code hostB}. */
    static AgentHosts of(Path dir, TestPki pki, AgentProcess a, AgentProcess b, String hostB) {
        return new AgentHosts(dir, pki, a, b, hostB);
    }

    /**
     * Makes the lab PKI in {@code dir/pki}: CA "vmmig-test-ca", host-a for {@link LabHost#A}'s address, host-b
     * for {@link LabHost#B}'s, and host-other for an address on neither (a certificate for another host).
     */
    static TestPki labPki(Path dir) throws Exception {
        TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
        pki.ca("ca", "vmmig-test-ca");
        pki.leaf("host-a", "host-a", "IP:" + LabHost.A.address(), "ca");
        pki.leaf("host-b", "host-b", "IP:" + LabHost.B.address(), "ca");
        pki.leaf("host-other", "host-other", "IP:10.213.0.9", "ca");
        return pki;
    }

    /**
     * Agent {@code a} on lab host A and {@code b} on lab host B, both listening on {@code port} of their
     * host's address, with host-a's and host-b's certificates of {@code pki} (or, without pki, the
     * {@code tls.*} lines of the extras).
     */
    static AgentHosts startInLab(Path dir, NetworkLab lab, TestPki pki, int port, List<String> extraA, List<String> extraB)
            throws Exception {
        AgentProcess a = agent(dir, pki, "a", "host-a", LabHost.A.address(), port, lab.prefix(LabHost.A), extraA);
        try {
            AgentProcess b = agent(dir, pki, "b", "host-b", LabHost.B.address(), port, lab.prefix(LabHost.B), extraB);
            return new AgentHosts(dir, pki, a, b, LabHost.B.address());
        } catch (Exception e) {
            a.close();
            throw e;
        }
    }

    /** Makes the test PKI in {@code dir/pki}: CA "vmmig-test-ca", agents host-a and host-b, both for IP 127.0.0.1. */
    static TestPki pki(Path dir) throws Exception {
        TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
        pki.ca("ca", "vmmig-test-ca");
        pki.leaf("host-a", "host-a", "IP:127.0.0.1", "ca");
        pki.leaf("host-b", "host-b", "IP:127.0.0.1", "ca");
        return pki;
    }

    static AgentHosts start(Path dir, TestPki pki, List<String> extraA, List<String> extraB) throws Exception {
        return start(dir, pki, extraA, "127.0.0.1", extraB);
    }

    /** Same, with agent b listening on {@code hostB} (e.g. {@code ::1}; its certificate must name it). */
    static AgentHosts start(Path dir, TestPki pki, List<String> extraA, String hostB, List<String> extraB) throws Exception {
        AgentProcess a = agent(dir, pki, "a", "host-a", extraA);
        try {
            AgentProcess b = agent(dir, pki, "b", "host-b", hostB, extraB);
            return new AgentHosts(dir, pki, a, b, hostB);
        } catch (Exception e) {
            a.close();
            throw e;
        }
    }

    /**
     * Starts one agent named {@code name} with the certificate {@code cert} of {@code pki}; with no pki,
     * the {@code tls.*} lines of {@code extra}, or plain TCP if it has none.
     */
    static AgentProcess agent(Path dir, TestPki pki, String name, String cert, List<String> extra) throws Exception {
        return agent(dir, pki, name, cert, "127.0.0.1", extra);
    }

    /** Same, listening on {@code host} (an IPv6 address goes in brackets in the configuration). */
    static AgentProcess agent(Path dir, TestPki pki, String name, String cert, String host, List<String> extra) throws Exception {
        return agent(dir, pki, name, cert, host, freePort(host), List.of(), extra);
    }

    /** Same, listening on {@code host:port}, its command line after {@code prefix} (a lab host's namespace). */
    static AgentProcess agent(Path dir, TestPki pki, String name, String cert, String host, int port, List<String> prefix,
                              List<String> extra) throws Exception {
        Path home = Files.createDirectories(dir.resolve(name));
        List<String> conf = new ArrayList<>(List.of(
                "listen = " + (host.contains(":") ? "[" + host + "]" : host) + ":" + port,
                "state-dir = " + home.resolve("state"),
                "control-socket = " + home.resolve("control.sock"),
                "image-dirs = " + Files.createDirectories(home.resolve("images")),
                "timeout = 120",
                // the destination QEMU may boot the test guest's kernel and connect to the harness's consoles and monitors
                "allowed.kernel-dirs = " + TestGuest.get().directory(),
                "allowed.chardev-dirs = " + HarnessDirectory.base()));
        if (pki != null) {
            conf.add("tls.key = " + pki.key(cert));
            conf.add("tls.cert = " + pki.cert(cert));
            conf.add("tls.ca = " + pki.cert("ca"));
        } else if (extra.stream().noneMatch(l -> l.startsWith("tls.key"))) {
            conf.add("insecure = true");
        }
        conf.addAll(extra);
        Path config = home.resolve("vmmig.conf");
        Files.write(config, conf);
        return AgentProcess.start(name, prefix, config, home.resolve("control.sock"), port, home.resolve("agent.log"));
    }

    static int freePort() throws IOException {
        return freePort("127.0.0.1");
    }

    static int freePort(String host) throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(host, 0));
            return s.getLocalPort();
        }
    }

    String destB() {
        return (hostB.contains(":") ? "[" + hostB + "]" : hostB) + ":" + b.port;
    }

    Path imagesOf(AgentProcess p) {
        return dir.resolve(p.name).resolve("images");
    }

    @Override
    public void close() {
        b.close();
        a.close();
        QemuProcesses.killMentioning(dir.toString());   // destination QEMUs the agents kept after a failed test
    }
}
