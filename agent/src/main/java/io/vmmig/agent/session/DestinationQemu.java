package io.vmmig.agent.session;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.qmp.QmpClient;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The QEMU a destination agent starts for an incoming migration: the arguments it built from the validated VM description plus the
 * strategy's disk nodes, the agent's QMP socket and {@code -incoming defer}.
 *
 * <p>It does not depend on the agent process: it runs in a session of its own ({@code setsid}, so a
 * signal to the agent's process group or session, a Ctrl-C in its terminal, never reaches it), its
 * output goes to {@code qemu.log} in the migration's directory (a file, not a pipe that would break
 * when the agent dies), and QEMU writes {@code qemu.pid} there ({@code -pidfile}). When systemd runs
 * the host ({@code /run/systemd/system}), it is also put in a transient scope of its own
 * ({@code systemd-run --scope}), so {@code systemctl stop vmmig-agent} (which kills the agent's whole
 * cgroup) does not take it along. A restarted agent finds it again with {@link #find}.
 * Killed by {@link #close()} unless {@link #keep() kept} (the guest runs there).
 */
final class DestinationQemu implements AutoCloseable {
    static final String PIDFILE = "qemu.pid";
    static final String QMP_SOCKET = "qmp.sock";

    private final ProcessHandle process;
    private final QmpClient qmp;
    private volatile boolean kept;

    private DestinationQemu(ProcessHandle process, QmpClient qmp) {
        this.process = process;
        this.qmp = qmp;
    }

    static DestinationQemu start(String binary, Path dir, List<String> args, Duration timeout) throws AgentException {
        Path qmpSocket = dir.resolve(QMP_SOCKET);
        Path log = dir.resolve("qemu.log");
        Path pidfile = dir.resolve(PIDFILE);
        if (executable(binary).isEmpty())
            throw new AgentException(ErrorKind.ENVIRONMENT, "cannot start the destination QEMU " + binary + ": no such executable");
        List<String> cmd = new ArrayList<>(detachPrefix(dir));
        cmd.add(binary);
        cmd.addAll(args);
        cmd.addAll(List.of("-qmp", "unix:" + qmpSocket + ",server=on,wait=off", "-pidfile", pidfile.toString(),
                "-incoming", "defer"));
        Process p;
        try {
            Files.deleteIfExists(qmpSocket);
            Files.deleteIfExists(pidfile);
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        } catch (IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "cannot start the destination QEMU " + binary + ": " + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!p.isAlive()) throw new AgentException(ErrorKind.ENVIRONMENT, "the destination QEMU exited with " + p.exitValue()
                    + ": " + tail(log));
            if (Files.exists(qmpSocket)) {
                try {
                    return new DestinationQemu(p.toHandle(), QmpClient.connect(qmpSocket));
                } catch (RuntimeException e) {
                    // not accepting yet
                }
            }
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new AgentException(ErrorKind.ENVIRONMENT, "the destination QEMU did not open its QMP socket within "
                        + timeout.toSeconds() + " s: " + tail(log));
            }
            try {
                p.onExit().get(20, TimeUnit.MILLISECONDS);   // wakes at once if QEMU exits
            } catch (java.util.concurrent.TimeoutException e) {
                // the socket may be there now
            } catch (Exception e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new AgentException(ErrorKind.FAILED, "interrupted while starting the destination QEMU", e);
            }
        }
    }

    /**
     * The QEMU an earlier run of this agent started in {@code dir}, if it still runs: its pidfile names
     * a live process whose command line has this directory's QMP socket, and that socket answers.
     */
    static Optional<DestinationQemu> find(Path dir) {
        Optional<ProcessHandle> p = running(dir);
        if (p.isEmpty()) return Optional.empty();
        try {
            return Optional.of(new DestinationQemu(p.get(), QmpClient.connect(dir.resolve(QMP_SOCKET))));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /** The live QEMU process of {@code dir} per its pidfile (checked against its command line), if any. */
    static Optional<ProcessHandle> running(Path dir) {
        try {
            long pid = Long.parseLong(Files.readString(dir.resolve(PIDFILE)).trim());
            Optional<ProcessHandle> h = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
            if (h.isEmpty()) return Optional.empty();
            String cmdline = Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ');
            return cmdline.contains(dir.resolve(QMP_SOCKET).toString()) ? h : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * What goes before QEMU's argv: {@code systemd-run --scope} under systemd (its own cgroup), then
     * {@code setsid} (its own session and process group; same pid, as a child of the JVM is no group leader).
     */
    private static List<String> detachPrefix(Path dir) {
        List<String> prefix = new ArrayList<>();
        if (Files.isDirectory(Path.of("/run/systemd/system")) && executable("systemd-run").isPresent()) {
            prefix.addAll(List.of("systemd-run", "--scope", "--quiet", "--collect",
                    "--unit=vmmig-qemu-" + dir.getFileName() + "-" + System.nanoTime() % 100000));
        }
        prefix.add("setsid");
        return prefix;
    }

    private static Optional<Path> executable(String name) {
        if (name.contains("/")) return Optional.of(Path.of(name)).filter(Files::isExecutable);
        String path = System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
        for (String d : path.split(":")) {
            Path c = Path.of(d.isEmpty() ? "." : d).resolve(name);
            if (Files.isExecutable(c)) return Optional.of(c);
        }
        return Optional.empty();
    }

    QmpClient qmp() {
        return qmp;
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** The guest runs here now: closing no longer kills QEMU. */
    void keep() {
        kept = true;
    }

    @Override
    public void close() {
        qmp.close();
        if (!kept) {
            process.destroyForcibly();
            try {
                process.onExit().get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                // it is going
            }
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }
}
