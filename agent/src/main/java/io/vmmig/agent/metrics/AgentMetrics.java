package io.vmmig.agent.metrics;

import io.vmmig.agent.daemon.CauseChain;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.vmmig.agent.config.HostPort;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationStatus;
import io.vmmig.agent.daemon.MigrationRecord;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.MigrationTimeline;
import java.io.IOException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's Prometheus metrics (the Prometheus Java client), fed from what the agent already tracks:
 * each {@link MigrationRecord}'s events (phases, progress samples, the final report) and, at a
 * destination, its pull ({@link PullMetrics}). Served at {@code /metrics} by {@link #serve}. The names
 * and labels are documented in README-agent.md ("Metrics").
 */
public final class AgentMetrics implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AgentMetrics.class);
    static final String SOURCE = "source";
    static final String DESTINATION = "destination";

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter migrations = Counter.builder().name("vmmig_migrations_total")
            .help("Migrations that ended, by this agent's role, strategy and outcome (completed, failed, cancelled)")
            .labelNames("role", "strategy", "outcome").register(registry);
    private final Counter pushed = bytes("vmmig_disk_pushed_bytes_total",
            "Disk bytes pushed before the switchover (pre-copy rounds, hybrid pushes, mirror copy); a destination counts what it received");
    private final Counter pulled = bytes("vmmig_disk_pulled_bytes_total", "Disk bytes pulled by destinations after the switchover");
    private final Counter deduplicated = bytes("vmmig_disk_deduplicated_bytes_total",
            "Disk bytes not sent because the destination already had them (no deduplication yet: always 0)");
    private final Counter wire = bytes("vmmig_disk_wire_bytes_total",
            "Disk bytes on the wire from source to destination (pushes after zero elision, pull answers, mirror); counted by the source");
    private final Gauge phase = Gauge.builder().name("vmmig_migration_phase")
            .help("1 for each running migration, labelled with its id, this agent's role and its phase")
            .labelNames("id", "role", "phase").register(registry);
    final Gauge pullQueue = Gauge.builder().name("vmmig_pull_queue_chunks")
            .help("Chunks a destination still has to pull (missing or in flight), per running migration")
            .labelNames("id").register(registry);
    private final Histogram downtime = Histogram.builder().name("vmmig_downtime_seconds")
            .help("QEMU's downtime of each completed migration (query-migrate), at the source")
            .labelNames("strategy").classicOnly()
            .classicUpperBounds(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60).register(registry);
    private final Histogram guestPause = Histogram.builder().name("vmmig_guest_pause_seconds")
            .help("Guest-visible pause of each completed migration: from the source pausing for the switchover to QEMU's"
                    + " switchover, or the guest's heartbeat gap where one was measured")
            .labelNames("strategy").classicOnly()
            .classicUpperBounds(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60).register(registry);
    final Histogram onDemandPull = Histogram.builder().name("vmmig_on_demand_pull_seconds")
            .help("Latency of each on-demand pull at a destination: from the guest's read of a missing chunk to the chunk installed")
            .classicOnly()
            .classicUpperBounds(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10).register(registry);
    private volatile HTTPServer server;

    public AgentMetrics() {
        for (String role : new String[] {SOURCE, DESTINATION}) {
            // present from the start (at 0), so that rate() and absent() work before the first migration
            pushed.labelValues(role);
            pulled.labelValues(role);
            deduplicated.labelValues(role);
            wire.labelValues(role);
        }
    }

    private Counter bytes(String name, String help) {
        return Counter.builder().name(name).help(help).labelNames("role").register(registry);
    }

    /** Serves {@code /metrics} (Prometheus text format) on {@code at}. */
    public void serve(HostPort at) throws IOException {
        server = HTTPServer.builder().hostname(at.host()).port(at.port()).registry(registry).buildAndStart();
        LOG.info("metrics on http://{}/metrics", new HostPort(at.host(), server.getPort()));
    }

    /** The port /metrics is served on, or -1. */
    public int port() {
        HTTPServer s = server;
        return s == null ? -1 : s.getPort();
    }

    /** The registry (for tests and other exporters). */
    public PrometheusRegistry registry() {
        return registry;
    }

    /** Follows {@code record}'s events to its end (a record restored already ended is not counted again). */
    public void track(MigrationRecord record) {
        MigrationStatus s = record.status();
        if (s.phase().terminal()) return;
        Follower f = new Follower(s.id(), s.role(), s.strategy());
        f.watch = record.watch(f);
    }

    /** A destination's pull of migration {@code id}, sampled by its session; close it when the migration ends. */
    public PullMetrics pull(String id) {
        return new PullMetrics(this, id);
    }

    @Override
    public void close() {
        HTTPServer s = server;
        if (s != null) s.close();
    }

    static String label(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    /** One migration's events into the metrics; called with the record locked, so it only updates counters. */
    private final class Follower implements Consumer<ControlEvent> {
        final String id;
        final String role;
        final String strategy;
        MigrationRecord.Watch watch;
        MigrationPhase shown;
        long pushedSeen;
        long pulledSeen;
        boolean ended;

        Follower(String id, String role, String strategy) {
            this.id = id;
            this.role = role;
            this.strategy = strategy;
        }

        @Override
        public void accept(ControlEvent e) {
            try {
                if (e instanceof ControlEvent.PhaseChange p) phase(p.phase());
                else if (e instanceof ControlEvent.Progress p) moved(p.progress().pushedBytes(), p.progress().pulledBytes());
                else if (e instanceof ControlEvent.Report r) report(r);
            } catch (RuntimeException | IOException ex) {
                LOG.warn("metrics of migration {}: {}", id, CauseChain.of(ex));
            }
        }

        private void phase(MigrationPhase p) {
            if (ended) return;
            if (shown != null) phase.remove(id, role, label(shown));
            if (p.terminal()) {
                ended = true;
                shown = null;
                migrations.labelValues(role, strategy, label(p)).inc();
                if (p != MigrationPhase.COMPLETED) stop();
            } else {
                phase.labelValues(id, role, label(p)).set(1);
                shown = p;
            }
        }

        /** Cumulative figures of this migration: the counters grow by what is new. */
        private void moved(long pushedNow, long pulledNow) {
            if (pushedNow > pushedSeen) {
                pushed.labelValues(role).inc(pushedNow - pushedSeen);
                pushedSeen = pushedNow;
            }
            if (pulledNow > pulledSeen) {
                pulled.labelValues(role).inc(pulledNow - pulledSeen);
                pulledSeen = pulledNow;
            }
        }

        private void report(ControlEvent.Report r) throws IOException {
            if (role.equals(SOURCE)) {
                MigrationReport m = ControlCodec.mapper().treeToValue(r.report(), MigrationReport.class);
                DestinationReport d = m.destination();
                moved(m.source().pushedBytes() + m.source().mirroredBytes(), d == null ? pulledSeen : d.pulledBytes());
                wire.labelValues(role).inc(m.diskBytesMoved());
                downtime.labelValues(strategy).observe(m.qemuDowntimeMillis() / 1000.0);
                long pause = guestPauseMillis(m);
                if (pause >= 0) guestPause.labelValues(strategy).observe(pause / 1000.0);
            } else {
                DestinationReport d = ControlCodec.mapper().treeToValue(r.report(), DestinationReport.class);
                moved(d.receivedPushBytes(), d.pulledBytes());
            }
            stop();
        }

        private void stop() {
            MigrationRecord.Watch w = watch;
            if (w != null) w.close();
        }
    }

    /** The guest's own heartbeat gap if measured, else the source's pause for the switchover to QEMU's switchover; -1 if unknown. */
    static long guestPauseMillis(MigrationReport m) {
        if (m.guestGapMillis() >= 0) return m.guestGapMillis();
        Duration paused = null;
        Duration switched = null;
        for (MigrationTimeline.Mark k : m.timeline()) {
            if (k.phase().equals("paused") && paused == null) paused = k.at();
            if (k.phase().equals("switched-over")) switched = k.at();
        }
        return paused != null && switched != null && switched.compareTo(paused) >= 0 ? switched.minus(paused).toMillis() : -1;
    }
}
