package io.vmmig.agent.session;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.agent.config.AfterSwitchover;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.AnnounceSelf;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination's network work right after the switchover, on its own thread (never in the way of the
 * pull): QMP {@code announce-self} so switches learn the guest's MACs here, then the configured
 * {@code post-switchover} command (route or tunnel updates) with the VM's name and addresses:
 *
 * <pre>
 * COMMAND VM SOURCE_HOST DESTINATION_HOST
 * env VMMIG_VM, VMMIG_MIGRATION_ID, VMMIG_SOURCE_HOST, VMMIG_DESTINATION_HOST, VMMIG_MACS (comma-separated, may be empty),
 *     VMMIG_QMP_SOCKET (the destination QEMU's)
 * </pre>
 *
 * Its output goes to {@code post-switchover.log} in the migration's state dir; it is killed (with its
 * children) after {@code post-switchover.timeout}. The {@link Result} goes into the report.
 */
final class SwitchoverNetwork {
    private static final Logger LOG = LoggerFactory.getLogger(SwitchoverNetwork.class);

    /** What the VM is, for the hook. */
    record Guest(String migrationId, String vm, String sourceHost, String destinationHost, List<String> macs, Path qmpSocket) {}

    /**
     * @param announce     {@code ok}, {@code off} or the QMP error
     * @param hook         the command, or null when none is configured
     * @param exitStatus   its exit status; null if it did not end by itself (timed out, or still running at report time)
     * @param hookMillis   how long it ran (so far, if still running)
     * @param state        {@code none}, {@code running}, {@code exited}, {@code timed-out} or {@code failed-to-start: ...}
     */
    record Result(String announce, long announceMillis, String hook, Integer exitStatus, long hookMillis, String state) {
        JsonNode addTo(JsonNode report) {
            ObjectNode o = ((ObjectNode) report).putObject("afterSwitchover");
            o.put("announce", announce).put("announceMillis", announceMillis).put("hookState", state).put("hookMillis", hookMillis);
            if (hook != null) o.put("hook", hook);
            if (exitStatus != null) o.put("hookExitStatus", exitStatus);
            return report;
        }

        static String summaryLine(JsonNode report) {
            JsonNode a = report == null ? null : report.get("afterSwitchover");
            if (a == null) return "";
            String hook = !a.has("hook") ? "no post-switchover hook"
                    : "post-switchover " + a.get("hook").asText() + ": " + a.get("hookState").asText()
                            + (a.has("hookExitStatus") ? " " + a.get("hookExitStatus").asInt() : "") + " in " + a.get("hookMillis").asLong() + " ms";
            return "  after the switchover: announce-self " + a.get("announce").asText() + ", " + hook + "\n";
        }
    }

    private final AfterSwitchover config;
    private final QmpClient qmp;
    private final Guest guest;
    private final Path workDir;
    private final CompletableFuture<Void> finished = new CompletableFuture<>();
    private volatile String announce = "not yet";
    private volatile long announceMillis;
    private volatile String state = "none";
    private volatile Integer exitStatus;
    private volatile long hookStartNanos;
    private volatile long hookMillis;

    SwitchoverNetwork(AfterSwitchover config, QmpClient qmp, Guest guest, Path workDir) {
        this.config = config;
        this.qmp = qmp;
        this.guest = guest;
        this.workDir = workDir;
    }

    /** Starts the work on its own thread; returns at once. */
    void start() {
        Thread t = new Thread(this::run, "vmmig-after-switchover-" + guest.migrationId());
        t.setDaemon(true);
        t.start();
    }

    /** Completes when the announcement was asked for and the hook ended (or was killed). */
    CompletableFuture<Void> finished() {
        return finished;
    }

    Result result() {
        long ms = "running".equals(state) ? (System.nanoTime() - hookStartNanos) / 1_000_000 : hookMillis;
        return new Result(announce, announceMillis, config.hook() == null ? null : config.hook().toString(), exitStatus, ms, state);
    }

    private void run() {
        try {
            announce();
            if (config.hook() != null) runHook();
        } finally {
            finished.complete(null);
        }
    }

    private void announce() {
        if (config.announceRounds() == 0) {
            announce = "off";
            return;
        }
        long t0 = System.nanoTime();
        try {
            qmp.call(new AnnounceSelf(config.announceInitialMs(), config.announceMaxMs(), config.announceRounds(),
                    config.announceStepMs()));
            announce = "ok (" + config.announceRounds() + " rounds)";
        } catch (RuntimeException e) {
            announce = "failed: " + e.getMessage();
            LOG.warn("migration {}: announce-self failed: {}", guest.migrationId(), e.toString());
        }
        announceMillis = (System.nanoTime() - t0) / 1_000_000;
    }

    private void runHook() {
        List<String> cmd = new ArrayList<>(List.of(config.hook().toString(), guest.vm(), guest.sourceHost(), guest.destinationHost()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(workDir.resolve("post-switchover.log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Map<String, String> env = pb.environment();
        env.put("VMMIG_VM", guest.vm());
        env.put("VMMIG_MIGRATION_ID", guest.migrationId());
        env.put("VMMIG_SOURCE_HOST", guest.sourceHost());
        env.put("VMMIG_DESTINATION_HOST", guest.destinationHost());
        env.put("VMMIG_MACS", String.join(",", guest.macs()));
        env.put("VMMIG_QMP_SOCKET", guest.qmpSocket().toString());
        hookStartNanos = System.nanoTime();
        state = "running";
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            hookMillis = (System.nanoTime() - hookStartNanos) / 1_000_000;
            state = "failed-to-start: " + e.getMessage();
            LOG.warn("migration {}: post-switchover {} did not start: {}", guest.migrationId(), config.hook(), e.toString());
            return;
        }
        try {
            if (p.waitFor(config.hookTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
                hookMillis = (System.nanoTime() - hookStartNanos) / 1_000_000;
                exitStatus = p.exitValue();
                state = "exited";
                LOG.info("migration {}: post-switchover {} exited {} after {} ms", guest.migrationId(), config.hook(), exitStatus, hookMillis);
            } else {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                hookMillis = (System.nanoTime() - hookStartNanos) / 1_000_000;
                state = "timed-out";
                LOG.warn("migration {}: post-switchover {} killed after {} (post-switchover.timeout)", guest.migrationId(),
                        config.hook(), config.hookTimeout());
            }
        } catch (InterruptedException e) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            state = "interrupted";
            Thread.currentThread().interrupt();
        }
    }

    /** MAC addresses of the description's NICs (devices with a {@code mac} property). */
    static List<String> macsOf(io.vmmig.agent.vm.VmDescription d) {
        List<String> out = new ArrayList<>();
        if (d.devices() != null)
            for (io.vmmig.agent.vm.VmDescription.Device dev : d.devices())
                if (dev.props() != null && dev.props().get("mac") != null) out.add(String.valueOf(dev.props().get("mac")));
        return out;
    }
}
