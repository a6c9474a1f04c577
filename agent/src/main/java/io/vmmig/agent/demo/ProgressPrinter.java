package io.vmmig.agent.demo;

import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryMigrate;
import io.vmmig.qmp.command.QmpResults.MigrationInfo;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.strategy.qemu.DestinationStrategy;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.qemu.SourceReport;
import io.vmmig.strategy.qemu.SourceStrategy;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Prints a progress line twice a second: phase, disk pushed and pulled, RAM progress, rates. */
final class ProgressPrinter implements AutoCloseable {
    private final Progress out;
    private final QmpClient srcQmp;
    private final SourceStrategy source;
    private final DestinationStrategy destination;
    private final MigrationTimeline timeline;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "vmmig-progress");
        t.setDaemon(true);
        return t;
    });
    private long lastPushed;
    private long lastNanos = System.nanoTime();

    ProgressPrinter(Progress out, QmpClient srcQmp, SourceStrategy source, DestinationStrategy destination,
                    MigrationTimeline timeline) {
        this.out = out;
        this.srcQmp = srcQmp;
        this.source = source;
        this.destination = destination;
        this.timeline = timeline;
        timer.scheduleAtFixedRate(this::print, 500, 500, TimeUnit.MILLISECONDS);
    }

    private void print() {
        try {
            SourceReport s = source.report();
            DestinationReport d = destination.report();
            long now = System.nanoTime();
            double rate = (s.pushedBytes() - lastPushed) / ((now - lastNanos) / 1e9) / (1 << 20);
            lastPushed = s.pushedBytes();
            lastNanos = now;
            String phase = timeline.at("switched-over") != null ? "pull"
                    : timeline.at("paused") != null ? "cutover"
                    : timeline.at("memory-start") != null ? "push+ram" : "push";
            String ram = "";
            if (timeline.at("memory-start") != null && timeline.at("switched-over") == null) {
                MigrationInfo m = srcQmp.call(new QueryMigrate());
                if (m.ram() != null && m.ram().total() > 0) {
                    ram = String.format("  RAM %s %3.0f%% (%.1f MiB left)", m.status(),
                            100.0 * (m.ram().total() - m.ram().remaining()) / m.ram().total(), m.ram().remaining() / (double) (1 << 20));
                }
            }
            String pull = phase.equals("pull") ? String.format("  pulled %.1f MiB (%d on demand, %d background) of %d chunks",
                    d.pulledBytes() / (double) (1 << 20), d.pulledOnDemand(), d.pulledBackground(), s.remainingChunks()) : "";
            out.say("%-8s disk pushed %.1f MiB (%.1f MiB/s), zero-skipped %.1f MiB%s%s", phase,
                    s.pushedBytes() / (double) (1 << 20), rate, s.zeroSkippedBytes() / (double) (1 << 20), ram, pull);
        } catch (RuntimeException e) {
            // progress is best effort; the migration reports its own failures
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
