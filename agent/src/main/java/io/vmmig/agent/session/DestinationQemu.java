package io.vmmig.agent.session;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.qmp.QmpClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The QEMU a destination agent starts for an incoming migration: the source's arguments plus the
 * strategy's disk nodes, the agent's QMP socket and {@code -incoming defer}; output to
 * {@code qemu.log} in the migration's directory. Killed by {@link #close()} unless {@link #keep() kept}
 * (the guest runs there after a successful migration; the agent's exit does not stop it).
 */
final class DestinationQemu implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final QmpClient qmp;
    private volatile boolean kept;

    private DestinationQemu(Process process, Path log, QmpClient qmp) {
        this.process = process;
        this.log = log;
        this.qmp = qmp;
    }

    static DestinationQemu start(String binary, Path dir, List<String> args, Duration timeout) throws AgentException {
        Path qmpSocket = dir.resolve("qmp.sock");
        Path log = dir.resolve("qemu.log");
        List<String> cmd = new ArrayList<>();
        cmd.add(binary);
        cmd.addAll(args);
        cmd.addAll(List.of("-qmp", "unix:" + qmpSocket + ",server=on,wait=off", "-incoming", "defer"));
        Process p;
        try {
            Files.deleteIfExists(qmpSocket);
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "cannot start the destination QEMU " + binary + ": " + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (!p.isAlive()) throw new AgentException(ErrorKind.ENVIRONMENT, "the destination QEMU exited with " + p.exitValue()
                    + ": " + tail(log));
            if (Files.exists(qmpSocket)) {
                try {
                    return new DestinationQemu(p, log, QmpClient.connect(qmpSocket));
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
            } catch (TimeoutException e) {
                // the socket may be there now
            } catch (Exception e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                throw new AgentException(ErrorKind.FAILED, "interrupted while starting the destination QEMU", e);
            }
        }
    }

    QmpClient qmp() {
        return qmp;
    }

    long pid() {
        return process.pid();
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
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
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
