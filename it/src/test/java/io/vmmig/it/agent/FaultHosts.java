package io.vmmig.it.agent;

import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * Two hosts for fault tests: network namespaces A and B joined by a veth pair (testkit's
 * {@link NetworkLab}), a real agent in each (mutual TLS), and a QEMU wrapper that starts the source VM
 * on host A. Agents can be SIGKILLed and restarted on the same configuration and state, the link
 * cut and restored.
 */
final class FaultHosts implements AutoCloseable {
    final Path dir;
    final NetworkLab lab;
    final Path qemuOnA;
    private final TestPki pki;
    private final List<String> extraB;
    AgentProcess a;
    AgentProcess b;

    private FaultHosts(Path dir, NetworkLab lab, TestPki pki, Path qemuOnA, List<String> extraB) {
        this.dir = dir;
        this.lab = lab;
        this.pki = pki;
        this.qemuOnA = qemuOnA;
        this.extraB = extraB;
    }

    /** @param extraB more configuration lines for agent B (e.g. a small image directory) */
    static FaultHosts start(Path dir, List<String> extraB) throws Exception {
        NetworkLab lab = NetworkLab.create();
        try {
            TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
            pki.ca("ca", "vmmig-test-ca");
            pki.leaf("host-a", "host-a", "IP:" + LabHost.A.address(), "ca");
            pki.leaf("host-b", "host-b", "IP:" + LabHost.B.address(), "ca");
            Path qemuA = dir.resolve("qemu-on-host-a");
            Files.writeString(qemuA, "#!/bin/sh\nexec " + String.join(" ", lab.prefix(LabHost.A)) + " qemu-system-x86_64 \"$@\"\n");
            Files.setPosixFilePermissions(qemuA, PosixFilePermissions.fromString("rwxr-xr-x"));
            FaultHosts h = new FaultHosts(dir, lab, pki, qemuA, extraB);
            h.a = h.agent("a", LabHost.A, List.of());
            h.b = h.agent("b", LabHost.B, extraB);
            return h;
        } catch (Exception e) {
            lab.close();
            throw e;
        }
    }

    private AgentProcess agent(String name, LabHost host, List<String> extra) throws Exception {
        Path home = Files.createDirectories(dir.resolve(name));
        Path config = home.resolve("vmmig.conf");
        if (!Files.exists(config)) {
            List<String> conf = new ArrayList<>(List.of(
                    "listen = " + host.address() + ":7410",
                    "state-dir = " + home.resolve("state"),
                    "control-socket = " + home.resolve("control.sock"),
                    "timeout = 30",
                    "tls.key = " + pki.key("host-" + name),
                    "tls.cert = " + pki.cert("host-" + name),
                    "tls.ca = " + pki.cert("ca"),
                    // the destination QEMU may boot the test guest's kernel and connect to the harness's consoles and monitors
                    "allowed.kernel-dirs = " + io.vmmig.testkit.TestGuest.get().directory(),
                    "allowed.chardev-dirs = " + io.vmmig.testkit.HarnessDirectory.base()));
            if (extra.stream().noneMatch(l -> l.startsWith("image-dirs")))
                conf.add("image-dirs = " + Files.createDirectories(home.resolve("images")));
            conf.addAll(extra);
            Files.write(config, conf);
        }
        return AgentProcess.start(name, lab.prefix(host), config, home.resolve("control.sock"), 7410, home.resolve("agent.log"));
    }

    /** Starts agent A again on its configuration and state (after a kill). */
    void restartA() throws Exception {
        a = agent("a", LabHost.A, List.of());
    }

    /** Starts agent B again on its configuration and state (after a kill). */
    void restartB() throws Exception {
        b = agent("b", LabHost.B, extraB);
    }

    String destB() {
        return LabHost.B.address() + ":7410";
    }

    Path stateB() {
        return dir.resolve("b/state");
    }

    Path stateA() {
        return dir.resolve("a/state");
    }

    /** Takes the veth between the hosts down (both ends) or up again. */
    void link(boolean up) {
        for (LabHost h : LabHost.values()) lab.exec(h, "ip", "link", "set", h.interfaceName(), up ? "up" : "down");
    }

    String logs() {
        return "\nagent a:\n" + a.logTail() + "\nagent b:\n" + b.logTail();
    }

    @Override
    public void close() {
        if (b != null) b.close();
        if (a != null) a.close();
        QemuProcesses.killMentioning(dir.toString());
        lab.close();
    }
}
