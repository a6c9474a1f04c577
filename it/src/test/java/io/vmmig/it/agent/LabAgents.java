package io.vmmig.it.agent;

import io.vmmig.testkit.HarnessDirectory;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * Two agents as two hosts in two network namespaces joined by a veth pair ({@link NetworkLab}):
 * {@code a} (source, {@code 10.213.0.1}) and {@code b} (destination, {@code 10.213.0.2}), mutual TLS
 * with certificates for those addresses, each its own state and image directories. Either agent can
 * be SIGKILLed and started again on the same configuration; the link can be cut and shaped. The source
 * QEMU runs in A's namespace through {@link #qemuOnA}.
 */
final class LabAgents implements AutoCloseable {
    final Path dir;
    final NetworkLab lab;
    final Path qemuOnA;
    AgentProcess a;
    AgentProcess b;
    private final Path configA;
    private final Path configB;

    private LabAgents(Path dir, NetworkLab lab, Path qemuOnA, Path configA, Path configB) {
        this.dir = dir;
        this.lab = lab;
        this.qemuOnA = qemuOnA;
        this.configA = configA;
        this.configB = configB;
    }

    /** Builds the lab and starts both agents; {@code extraA}/{@code extraB}: more configuration lines. */
    static LabAgents start(Path dir, List<String> extraA, List<String> extraB) throws Exception {
        NetworkLab lab = NetworkLab.create();
        try {
            TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
            pki.ca("ca", "vmmig-test-ca");
            pki.leaf("host-a", "host-a", "IP:" + LabHost.A.address(), "ca");
            pki.leaf("host-b", "host-b", "IP:" + LabHost.B.address(), "ca");
            Path qemuA = dir.resolve("qemu-on-host-a");
            Files.writeString(qemuA, "#!/bin/sh\nexec " + String.join(" ", lab.prefix(LabHost.A)) + " qemu-system-x86_64 \"$@\"\n");
            Files.setPosixFilePermissions(qemuA, PosixFilePermissions.fromString("rwxr-xr-x"));
            LabAgents l = new LabAgents(dir, lab, qemuA, config(dir, pki, "a", LabHost.A, extraA), config(dir, pki, "b", LabHost.B, extraB));
            l.a = l.startAgent("a");
            l.b = l.startAgent("b");
            return l;
        } catch (Exception e) {
            lab.close();
            throw e;
        }
    }

    private static Path config(Path dir, TestPki pki, String name, LabHost host, List<String> extra) throws Exception {
        Path home = Files.createDirectories(dir.resolve(name));
        List<String> conf = new ArrayList<>(List.of(
                "listen = " + host.address() + ":7410",
                "state-dir = " + home.resolve("state"),
                "control-socket = " + home.resolve("control.sock"),
                "image-dirs = " + Files.createDirectories(home.resolve("images")),
                "tls.key = " + pki.key("host-" + name),
                "tls.cert = " + pki.cert("host-" + name),
                "tls.ca = " + pki.cert("ca"),
                // the destination QEMU may boot the test guest's kernel and connect to the harness's consoles and monitors
                "allowed.kernel-dirs = " + TestGuest.get().directory(),
                "allowed.chardev-dirs = " + HarnessDirectory.base()));
        conf.addAll(extra);
        Path config = home.resolve("vmmig.conf");
        Files.write(config, conf);
        return config;
    }

    /** Starts agent {@code name} ({@code a} or {@code b}) in its namespace, on its configuration. */
    AgentProcess startAgent(String name) throws Exception {
        Path home = dir.resolve(name);
        LabHost host = name.equals("a") ? LabHost.A : LabHost.B;
        return AgentProcess.start(name, lab.prefix(host), name.equals("a") ? configA : configB, home.resolve("control.sock"), 7410,
                home.resolve("agent.log"));
    }

    /** SIGKILLs agent {@code name} and starts it again; returns the new process. */
    AgentProcess restart(String name) throws Exception {
        AgentProcess old = name.equals("a") ? a : b;
        old.kill();
        AgentProcess p = startAgent(name);
        if (name.equals("a")) a = p;
        else b = p;
        return p;
    }

    String destB() {
        return LabHost.B.address() + ":7410";
    }

    Path stateOfB(String migrationId) {
        return dir.resolve("b/state/m").resolve(migrationId);
    }

    /** The veth link down (both ends: the carrier goes with either) or up again. */
    void link(boolean up) {
        lab.exec(LabHost.A, "ip", "link", "set", LabHost.A.interfaceName(), up ? "up" : "down");
        lab.exec(LabHost.B, "ip", "link", "set", LabHost.B.interfaceName(), up ? "up" : "down");
    }

    @Override
    public void close() {
        if (b != null) b.close();
        if (a != null) a.close();
        QemuProcesses.killMentioning(dir.toString());
        lab.close();
    }
}
