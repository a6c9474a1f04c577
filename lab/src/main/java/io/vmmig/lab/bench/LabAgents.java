package io.vmmig.lab.bench;

import io.vmmig.agent.Main;
import io.vmmig.testkit.HarnessDirectory;
import io.vmmig.testkit.TestGuest;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One {@code vmmig agent} per libvirt lab host, each in its host's namespaces (so it talks to that host's
 * libvirtd), configured as {@code DomainMigrationLibvirtIT} does; killed on close. The agents run with the
 * JVM's default flags (C2, default heap), not the tests' small-and-quick ones: their CPU is measured.
 */
final class LabAgents implements AutoCloseable {
    static final int PORT = 7410;

    private final Process a;
    private final Process b;
    private final Path dir;

    private LabAgents(Process a, Process b, Path dir) {
        this.a = a;
        this.b = b;
        this.dir = dir;
    }

    /** Starts both; their configs in {@code dir}/a|b/vmmig.conf, where the lab's qemu hook reads them too. */
    static LabAgents start(LibvirtLab lab, Path dir) throws IOException, InterruptedException {
        Process a = agent(lab, dir, LibvirtLab.Host.A);
        try {
            Process b = agent(lab, dir, LibvirtLab.Host.B);
            return new LabAgents(a, b, dir);
        } catch (IOException | RuntimeException e) {
            a.destroyForcibly();
            throw e;
        }
    }

    /** Writes the configs the hook reads before libvirtd starts (the hook is installed at {@code up}). */
    static void writeConfigs(Path dir) throws IOException {
        for (LibvirtLab.Host h : LibvirtLab.Host.values()) {
            Path home = Files.createDirectories(dir.resolve(h.name));
            List<String> conf = new ArrayList<>(List.of(
                    "listen = " + h.address + ":" + PORT,
                    "state-dir = " + home.resolve("state"),
                    "control-socket = " + home.resolve("control.sock"),
                    "timeout = 300",
                    "insecure = true",
                    "allowed.kernel-dirs = " + TestGuest.get().directory(),
                    "allowed.chardev-dirs = " + HarnessDirectory.base()));
            if (h == LibvirtLab.Host.B) conf.addAll(List.of("libvirt.migration-uri = " + LibvirtLab.URI_B, "image-dirs = /srv/vmimg"));
            else conf.add("image-dirs = " + Files.createDirectories(home.resolve("images")));
            Files.write(home.resolve("vmmig.conf"), conf);
        }
    }

    private static Process agent(LibvirtLab lab, Path dir, LibvirtLab.Host h) throws IOException, InterruptedException {
        Path home = dir.resolve(h.name);
        Path socket = home.resolve("control.sock");
        Files.deleteIfExists(socket);
        List<String> argv = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dorg.slf4j.simpleLogger.logFile=System.err", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "agent", "--config", home.resolve("vmmig.conf").toString());
        Path log = home.resolve("agent.log");
        Process p = lab.builder(h, argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            if (!p.isAlive()) throw new IllegalStateException("agent " + h.name + " exited " + p.exitValue() + ": " + tail(log));
            if (Files.exists(socket)) {
                try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                    return p;
                } catch (IOException e) {
                    // not yet listening
                }
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException("agent " + h.name + " did not open " + socket + " in 60 s: " + tail(log));
            }
            p.waitFor(100, TimeUnit.MILLISECONDS);
        }
    }

    Path controlSocket(LibvirtLab.Host h) {
        return dir.resolve(h.name).resolve("control.sock");
    }

    String logTail(LibvirtLab.Host h) {
        return tail(dir.resolve(h.name).resolve("agent.log"));
    }

    private static String tail(Path log) {
        try {
            List<String> l = Files.readAllLines(log);
            return String.join("\n", l.subList(Math.max(0, l.size() - 30), l.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /** CPU seconds of both agent JVMs so far ({@code libvirt-lab exec} execs: the process is the JVM). */
    double cpuSeconds() {
        return ProcessCpu.seconds(a.pid(), b.pid());
    }

    @Override
    public void close() throws InterruptedException {
        for (Process p : List.of(a, b)) {
            p.destroy();
            if (!p.waitFor(15, TimeUnit.SECONDS)) p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
