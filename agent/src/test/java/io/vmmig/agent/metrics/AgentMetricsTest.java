package io.vmmig.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationProgress;
import io.vmmig.agent.daemon.MigrationRecord;
import io.vmmig.agent.daemon.MigrationRegistry;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.qemu.SourceReport;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The metrics follow migration records as the agent's sessions drive them. */
class AgentMetricsTest {
    private final AgentMetrics metrics = new AgentMetrics();
    private final MigrationRegistry registry = new MigrationRegistry(metrics::track);

    private String text() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, metrics.registry().scrape());
        return out.toString(StandardCharsets.UTF_8);
    }

    private static MigrationProgress progress(long pushed, long pulled) {
        return new MigrationProgress(100, 1 << 30, pushed, 0, pulled, 0, 0, 0, 0, -1);
    }

    @Test
    void aCompletedSourceMigration() throws Exception {
        MigrationRecord m = new MigrationRecord("m-1", "source", "vm1", "b:7410", "hybrid");
        registry.add(m);
        assertTrue(text().contains("vmmig_migration_phase{id=\"m-1\",phase=\"preparing\",role=\"source\"} 1.0\n"), text());
        m.phase(MigrationPhase.PUSHING);
        m.progress(progress(1000, 0));
        m.progress(progress(3000, 0));
        String during = text();
        assertTrue(during.contains("vmmig_migration_phase{id=\"m-1\",phase=\"pushing\",role=\"source\"} 1.0\n"), during);
        assertFalse(during.contains("phase=\"preparing\""), "one phase per migration: " + during);
        assertTrue(during.contains("vmmig_disk_pushed_bytes_total{role=\"source\"} 3000.0\n"), "cumulative samples, counted once: " + during);
        m.phase(MigrationPhase.MEMORY);
        m.phase(MigrationPhase.CUTOVER);
        m.phase(MigrationPhase.PULLING);
        m.progress(progress(5000, 200));
        m.phase(MigrationPhase.FINISHING);
        MigrationReport r = new MigrationReport("m-1", Strategy.HYBRID, 4000, 1000, 120, 30, 1 << 26,
                new SourceReport(6000, 5500, 3, 2, 0, 0, 900, 4, 30, false, 0),
                new DestinationReport(6000, 900, 2, 1, 0, 5, 2, 1500, 3000, 0, 0, 0),
                List.of(new MigrationTimeline.Mark("paused", Duration.ofMillis(900)), new MigrationTimeline.Mark("switched-over", Duration.ofMillis(1150))));
        m.complete(new ControlEvent.Report("m-1", ControlCodec.tree(r), r.summary()));
        String after = text();
        assertTrue(after.contains("vmmig_migrations_total{outcome=\"completed\",role=\"source\",strategy=\"hybrid\"} 1.0\n"), after);
        assertFalse(after.contains("vmmig_migration_phase{"), "no phase once ended: " + after);
        assertTrue(after.contains("vmmig_disk_pushed_bytes_total{role=\"source\"} 6000.0\n"), after);
        assertTrue(after.contains("vmmig_disk_pulled_bytes_total{role=\"source\"} 900.0\n"), after);
        assertTrue(after.contains("vmmig_disk_wire_bytes_total{role=\"source\"} 6400.0\n"), "pushes on the wire + pull answers: " + after);
        assertTrue(after.contains("vmmig_disk_deduplicated_bytes_total{role=\"source\"} 0.0\n"), after);
        assertTrue(after.contains("vmmig_downtime_seconds_bucket{strategy=\"hybrid\",le=\"0.1\"} 0\n"), after);
        assertTrue(after.contains("vmmig_downtime_seconds_bucket{strategy=\"hybrid\",le=\"0.25\"} 1\n"), after);
        assertTrue(after.contains("vmmig_downtime_seconds_sum{strategy=\"hybrid\"} 0.12\n"), after);
        assertTrue(after.contains("vmmig_guest_pause_seconds_sum{strategy=\"hybrid\"} 0.25\n"), "paused to switched-over: " + after);
    }

    @Test
    void failedAndCancelledAreCountedApart() throws Exception {
        MigrationRecord a = new MigrationRecord("m-2", "source", "vm1", "b:7410", "precopy");
        MigrationRecord b = new MigrationRecord("m-3", "source", "vm2", "b:7410", "precopy");
        registry.add(a);
        registry.add(b);
        a.fail(ErrorKind.UNREACHABLE, "destination agent b:7410: connection refused");
        b.phase(MigrationPhase.PUSHING);
        b.fail(ErrorKind.CANCELLED, "cancelled by the operator");
        String t = text();
        assertTrue(t.contains("vmmig_migrations_total{outcome=\"failed\",role=\"source\",strategy=\"precopy\"} 1.0\n"), t);
        assertTrue(t.contains("vmmig_migrations_total{outcome=\"cancelled\",role=\"source\",strategy=\"precopy\"} 1.0\n"), t);
        assertFalse(t.contains("vmmig_migration_phase{"), t);
        assertFalse(t.contains("vmmig_downtime_seconds_count{"), "no downtime without a switchover: " + t);
    }

    @Test
    void aDestinationCountsWhatItReceived() throws Exception {
        MigrationRecord m = new MigrationRecord("m-4", "destination", "vm1", "a", "hybrid");
        registry.add(m);
        m.phase(MigrationPhase.PUSHING);
        m.progress(progress(4096, 0));
        m.phase(MigrationPhase.PULLING);
        m.progress(progress(8192, 1024));
        DestinationReport d = new DestinationReport(8192, 2048, 1, 1, 0, 5);
        m.complete(new ControlEvent.Report("m-4", ControlCodec.tree(d), "destination of m-4"));
        String t = text();
        assertTrue(t.contains("vmmig_disk_pushed_bytes_total{role=\"destination\"} 8192.0\n"), t);
        assertTrue(t.contains("vmmig_disk_pulled_bytes_total{role=\"destination\"} 2048.0\n"), t);
        assertTrue(t.contains("vmmig_migrations_total{outcome=\"completed\",role=\"destination\",strategy=\"hybrid\"} 1.0\n"), t);
    }

    @Test
    void guestPauseFromTheHeartbeatWhenMeasured() {
        MigrationReport r = new MigrationReport("m-5", Strategy.HYBRID, 1, 1, 1, 1, 1,
                new SourceReport(0, 0, 0, 0, 0, 0, 0, 0, 0, false, 0), null,
                List.of(new MigrationTimeline.Mark("paused", Duration.ofMillis(10)), new MigrationTimeline.Mark("switched-over", Duration.ofMillis(50))));
        assertEquals(40, AgentMetrics.guestPauseMillis(r));
        assertEquals(300, AgentMetrics.guestPauseMillis(r.withGuestGap(300)));
        assertEquals(-1, AgentMetrics.guestPauseMillis(new MigrationReport("m-6", Strategy.HYBRID, 1, 1, 1, 1, 1,
                new SourceReport(0, 0, 0, 0, 0, 0, 0, 0, 0, false, 0), null, List.of())));
    }

    @Test
    void aDestinationsPullQueueAndEachOnDemandLatency() throws Exception {
        long[] latencies = {1_000_000, 3_000_000, 20_000_000};
        List<Integer> asked = new java.util.ArrayList<>();
        try (PullMetrics pull = metrics.pull("m-7")) {
            pull.sample(null, from -> new long[0]);
            assertFalse(text().contains("vmmig_pull_queue_chunks{"), "nothing before the hand-over: " + text());
            pull.sample(new io.vmmig.strategy.PullQueue.PullStats(1, 2, 0, 0, 40), from -> {
                asked.add(from);
                return java.util.Arrays.copyOfRange(latencies, from, 2);
            });
            pull.sample(new io.vmmig.strategy.PullQueue.PullStats(2, 9, 0, 0, 12), from -> {
                asked.add(from);
                return java.util.Arrays.copyOfRange(latencies, from, 3);
            });
            String t = text();
            assertEquals(List.of(0, 2), asked, "only the new samples are asked for");
            assertTrue(t.contains("vmmig_pull_queue_chunks{id=\"m-7\"} 12.0\n"), t);
            assertTrue(t.contains("vmmig_on_demand_pull_seconds_count 3\n"), "each latency observed once: " + t);
            assertTrue(t.contains("vmmig_on_demand_pull_seconds_bucket{le=\"0.001\"} 1\n"), t);
            assertTrue(t.contains("vmmig_on_demand_pull_seconds_bucket{le=\"0.005\"} 2\n"), t);
            assertTrue(t.contains("vmmig_on_demand_pull_seconds_bucket{le=\"0.025\"} 3\n"), t);
        }
        assertFalse(text().contains("vmmig_pull_queue_chunks{"), "gone with the migration: " + text());
    }
}
