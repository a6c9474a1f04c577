package io.vmmig.lab.bench;

import io.vmmig.testkit.net.InterfaceCounters;
import io.vmmig.testkit.net.TbfShape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The two private libvirtd of {@code lab/libvirt/libvirt-lab} ("host a" 10.214.0.1, "host b" 10.214.0.2), up for
 * the bench's libvirt columns: started on {@link #up}, stopped and deleted on {@link #close}. Its namespace prefix
 * and state directory come from {@code VMMIG_LIBVIRT_LAB_NS} and {@code VMMIG_LIBVIRT_LAB} (the script's defaults
 * when unset), so that a helper's lab never collides with another's.
 */
final class LibvirtLab implements AutoCloseable {
    static final String URI_A = "qemu+tcp://10.214.0.1/system";
    static final String URI_B = "qemu+tcp://10.214.0.2/system";

    /** A lab host: its name in the script, its address and its veth end. */
    enum Host {
        A("a", "10.214.0.1"), B("b", "10.214.0.2");

        final String name;
        final String address;

        Host(String name, String address) {
            this.name = name;
            this.address = address;
        }

        String veth() {
            return "lv-veth-" + name;
        }
    }

    private final Path script;
    private final Map<String, String> env;

    private LibvirtLab(Path script, Map<String, String> env) {
        this.script = script;
        this.env = env;
    }

    /** Starts both libvirtd with vmmig's qemu hook reading {@code hookConf}/a|b/vmmig.conf. */
    static LibvirtLab up(Path repo, Path hookConf) throws IOException, InterruptedException {
        Map<String, String> env = new java.util.HashMap<>();
        for (String k : List.of("VMMIG_LIBVIRT_LAB_NS", "VMMIG_LIBVIRT_LAB")) {
            String v = System.getenv(k);
            if (v != null && !v.isBlank()) env.put(k, v);
        }
        env.put("VMMIG_LIBVIRT_LAB_HOOK_CONF", hookConf.toString());
        LibvirtLab lab = new LibvirtLab(repo.resolve("lab/libvirt/libvirt-lab"), Map.copyOf(env));
        String existing = lab.run(List.of("ip", "netns", "list"));
        if (existing.lines().anyMatch(l -> l.startsWith(lab.namespace(Host.A) + " ") || l.equals(lab.namespace(Host.A))))
            throw new IllegalStateException("a libvirt lab " + lab.namespace(Host.A) + " is up already (another user's, or left by a"
                    + " killed run: VMMIG_LIBVIRT_LAB_NS=... lab/libvirt/libvirt-lab down); set VMMIG_LIBVIRT_LAB_NS and VMMIG_LIBVIRT_LAB"
                    + " to a lab of your own");
        lab.run(List.of(lab.script.toString(), "up"));
        return lab;
    }

    String namespace(Host h) {
        return env.getOrDefault("VMMIG_LIBVIRT_LAB_NS", "lv") + "-" + h.name;
    }

    /** {@code libvirt-lab exec h} before a command: it runs in the host's network and mount namespaces. */
    List<String> prefix(Host h) {
        return List.of(script.toString(), "exec", h.name);
    }

    /** A process builder for {@code argv} in host {@code h}, with the lab's environment. */
    ProcessBuilder builder(Host h, List<String> argv) {
        List<String> all = new ArrayList<>(prefix(h));
        all.addAll(argv);
        ProcessBuilder pb = new ProcessBuilder(all);
        pb.environment().putAll(env);
        return pb;
    }

    /** Runs {@code argv} in host {@code h}; its output, or an exception with it. */
    String exec(Host h, String... argv) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(prefix(h));
        all.addAll(List.of(argv));
        return run(all);
    }

    /** Runs {@code virsh -c qemu:///system ARGS} in host {@code h}. */
    String virsh(Host h, String... args) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(List.of("virsh", "-c", "qemu:///system"));
        all.addAll(List.of(args));
        return exec(h, all.toArray(String[]::new));
    }

    /** Runs {@code argv} in host {@code h}, ignoring failure (cleanup). */
    void tryExec(Host h, String... argv) {
        try {
            exec(h, argv);
        } catch (IOException | RuntimeException e) {
            // best effort
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** tbf on both veth ends, as {@code NetworkLab.shape} does on the plain-QEMU pair. */
    void shape(long rateBitsPerSecond) throws IOException, InterruptedException {
        for (Host h : Host.values()) {
            List<String> argv = new ArrayList<>(List.of("tc", "-n", namespace(h), "qdisc", "replace", "dev", h.veth(), "root"));
            argv.addAll(TbfShape.forRate(rateBitsPerSecond).tcArguments());
            run(argv);
        }
    }

    void unshaped() throws IOException, InterruptedException {
        for (Host h : Host.values())
            run(List.of("sh", "-c", "tc -n " + namespace(h) + " qdisc del dev " + h.veth() + " root 2>/dev/null || true"));
    }

    /** The pids of host a's and host b's libvirtd (their pidfiles in the lab's state directory). */
    long[] libvirtdPids() throws IOException {
        Path base = Path.of(env.getOrDefault("VMMIG_LIBVIRT_LAB", "/tmp/vmmig-libvirt-lab"));
        long[] out = new long[2];
        for (Host h : Host.values())
            out[h.ordinal()] = Long.parseLong(java.nio.file.Files.readString(base.resolve(h.name).resolve("libvirtd.pid")).strip());
        return out;
    }

    /** Host a's veth counters: tx = towards b. */
    InterfaceCounters counters() {
        String dir = "/sys/class/net/" + Host.A.veth() + "/statistics/";
        try {
            return InterfaceCounters.parse(run(List.of("ip", "netns", "exec", namespace(Host.A), "cat", dir + "rx_bytes",
                    dir + "tx_bytes", dir + "rx_packets", dir + "tx_packets")));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private String run(List<String> argv) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES)) p.destroyForcibly();
        if (p.exitValue() != 0) throw new IllegalStateException(argv + " exited " + p.exitValue() + ": " + out.strip());
        return out;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run(List.of(script.toString(), "down"));
    }
}
