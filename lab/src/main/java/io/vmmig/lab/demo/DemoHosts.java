package io.vmmig.lab.demo;

import io.vmmig.agent.Main;
import io.vmmig.testkit.net.GuestLan;
import io.vmmig.testkit.net.JavaCommand;
import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.HarnessDirectory;
import io.vmmig.testkit.pki.TestPki;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The demo's two hosts: two {@code vmmig agent} processes with a throwaway CA and certificates (mutual
 * TLS), in two network namespaces joined by a veth pair when the lab can be built (root), else both on
 * loopback; and the QEMU binary to start the source VM on host A (a wrapper entering A's namespace).
 */
final class DemoHosts implements AutoCloseable {
    final String hostA;
    final String hostB;
    final int portB;
    final Path controlA;
    final Path stateB;
    final Path imagesB;
    final Path qemuA;
    final Optional<NetworkLab> lab;
    /** The guest's LAN across the lab (with the lab only): the guest's NIC, the outside probe. */
    final Optional<GuestLan> lan;
    private final List<Process> agents = new ArrayList<>();
    private final Optional<Path> agentCommand;

    private DemoHosts(String hostA, String hostB, int portB, Path controlA, Path stateB, Path imagesB, Path qemuA,
                      Optional<NetworkLab> lab, Optional<GuestLan> lan, Optional<Path> agentCommand) {
        this.agentCommand = agentCommand;
        this.lan = lan;
        this.hostA = hostA;
        this.hostB = hostB;
        this.portB = portB;
        this.controlA = controlA;
        this.stateB = stateB;
        this.imagesB = imagesB;
        this.qemuA = qemuA;
        this.lab = lab;
    }

    /**
     * Starts both agents; {@code agentCommand}, when present, is the {@code vmmig} executable to run them
     * with (e.g. the installed {@code /usr/bin/vmmig}), else this JVM's class path runs {@link Main}. In
     * namespaces the guest LAN is built too (its bridges forget a MAC after {@code switchAgeing}) and the
     * destination agent gets {@code extraB} (e.g. {@code announce.rounds = 0}).
     */
    static DemoHosts start(Path dir, boolean namespaces, Optional<Path> agentCommand, Duration switchAgeing, List<String> extraB)
            throws Exception {
        Optional<NetworkLab> lab = namespaces ? Optional.of(NetworkLab.create()) : Optional.empty();
        Optional<GuestLan> lan;
        try {
            lan = lab.map(l -> l.guestLan(switchAgeing));
        } catch (RuntimeException e) {
            lab.get().close();
            throw e;
        }
        String a = lab.isPresent() ? LabHost.A.address() : "127.0.0.1";
        String b = lab.isPresent() ? LabHost.B.address() : "127.0.0.1";
        TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
        pki.ca("ca", "vmmig-demo-ca");
        pki.leaf("host-a", "host-a", "IP:" + a, "ca");
        pki.leaf("host-b", "host-b", "IP:" + b, "ca");
        int portA = lab.isPresent() ? 7410 : freePort();
        int portB = lab.isPresent() ? 7410 : freePort();
        Path qemuA = Path.of("qemu-system-x86_64");
        if (lab.isPresent()) {
            qemuA = dir.resolve("qemu-on-host-a");
            Files.writeString(qemuA, "#!/bin/sh\nexec " + String.join(" ", lab.get().prefix(LabHost.A)) + " qemu-system-x86_64 \"$@\"\n");
            Files.setPosixFilePermissions(qemuA, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        DemoHosts hosts = new DemoHosts(a, b, portB, dir.resolve("a/control.sock"), dir.resolve("b/state"), dir.resolve("b/images"),
                qemuA, lab, lan, agentCommand);
        try {
            hosts.agent(dir, pki, "a", a, portA, LabHost.A, List.of());
            List<String> b2 = new ArrayList<>(extraB);
            if (lan.isPresent()) b2.add("allowed.taps = " + GuestLan.TAP);   // the incoming VM's NIC
            hosts.agent(dir, pki, "b", b, portB, LabHost.B, b2);
            return hosts;
        } catch (Exception e) {
            hosts.close();
            throw e;
        }
    }

    private void agent(Path dir, TestPki pki, String name, String address, int port, LabHost host, List<String> extra)
            throws Exception {
        Path home = Files.createDirectories(dir.resolve(name));
        Path config = home.resolve("vmmig.conf");
        List<String> lines = new ArrayList<>(List.of("listen = " + address + ":" + port, "state-dir = " + home.resolve("state"),
                "control-socket = " + home.resolve("control.sock"), "image-dirs = " + Files.createDirectories(home.resolve("images")),
                "tls.key = " + pki.key("host-" + name), "tls.cert = " + pki.cert("host-" + name), "tls.ca = " + pki.cert("ca"),
                // the incoming VM boots the test guest's kernel and keeps the harness's console socket
                "allowed.kernel-dirs = " + TestGuest.get().directory(), "allowed.chardev-dirs = " + HarnessDirectory.base()));
        lines.addAll(extra);
        Files.write(config, lines);
        List<String> cmd = new ArrayList<>();
        lab.ifPresent(l -> cmd.addAll(l.prefix(host)));
        List<String> args = List.of("agent", "--config", config.toString());
        if (agentCommand.isPresent()) {
            cmd.add(agentCommand.get().toString());
            cmd.addAll(args);
        } else {
            cmd.addAll(JavaCommand.of(Main.class, args));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(home.resolve("agent.log").toFile()).start();
        agents.add(p);
        Path socket = home.resolve("control.sock");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            if (!p.isAlive())
                throw new IllegalStateException("agent " + name + " exited: " + Files.readString(home.resolve("agent.log")));
            if (Files.exists(socket)) {
                try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                    return;
                } catch (IOException e) {
                    // not yet
                }
            }
            if (System.nanoTime() > deadline) throw new IllegalStateException("agent " + name + " did not start in 30 s");
            try {
                p.onExit().get(50, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // poll again
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    String destination() {
        return hostB + ":" + portB;
    }

    @Override
    public void close() {
        for (Process p : agents) {
            p.destroy();
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        lab.ifPresent(NetworkLab::close);
    }
}
