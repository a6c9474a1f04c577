package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.testkit.pki.TestPki;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two real agent processes with {@code metrics.listen}, a real hybrid migration of the writing test
 * guest: {@code /metrics} of both agents scraped during the migration and after it, each scrape
 * checked by Prometheus' own parser and linter ({@code promtool check metrics}) and its values
 * asserted. The destination agent listens on IPv6 ({@code listen = [::1]:PORT}, {@code vmmig migrate VM [::1]:PORT}).
 * The agents' logs carry one INFO line per phase with the migration id.
 */
class AgentMetricsIT {
    @TempDir
    Path dir;

    @Test
    void metricsDuringAndAfterAHybridMigration() throws Exception {
        // agent b listens on IPv6 loopback: the migration goes to [::1]:PORT (control, data, memory)
        TestPki pki = new TestPki(java.nio.file.Files.createDirectories(dir.resolve("pki")));
        pki.ca("ca", "vmmig-test-ca");
        pki.leaf("host-a", "host-a", "IP:127.0.0.1", "ca");
        pki.leaf("host-b", "host-b", "IP:::1", "ca");
        int portA = AgentHosts.freePort();
        int portB = AgentHosts.freePort("::1");
        try (AgentHosts hosts = AgentHosts.start(dir, pki, List.of("metrics.listen = 127.0.0.1:" + portA), "::1",
                List.of("metrics.listen = [::1]:" + portB, "log-level = info"));
             TestVm vm = TestVm.boot(dir, "vm-metrics", 16, 1000)) {
            String b = "http://[::1]:" + portB + "/metrics";
            String a = "http://127.0.0.1:" + portA + "/metrics";
            Metrics idleA = scrape(a);
            assertEquals(0.0, idleA.value("vmmig_disk_pushed_bytes_total", Map.of("role", "source")), "counters exist at 0 before any migration");

            CompletableFuture<Metrics[]> during = new CompletableFuture<>();
            // 8 MB/s of pushes: the 16 MiB the guest wrote keep the migration in its push phase for seconds
            Cli.Result r = Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), "[::1]:" + hosts.b.port,
                    "--strategy", "hybrid", "--bandwidth", "8M", "--json"), line -> {
                        if (!during.isDone() && ControlCodec.decodeEvent(line) instanceof ControlEvent.Progress p
                                && p.progress().pushedBytes() > 0 && !p.phase().terminal()) {
                            try {
                                during.complete(new Metrics[] {scrape(a), scrape(b)});
                            } catch (Exception e) {
                                during.completeExceptionally(e);
                            }
                        }
                    });
            List<ControlEvent> events = r.events();
            ControlEvent last = events.get(events.size() - 1);
            assertInstanceOf(ControlEvent.Report.class, last, () -> "failed: " + last + "\nagent a:\n" + hosts.a.logTail()
                    + "\nagent b:\n" + hosts.b.logTail());
            assertEquals(0, r.exitCode(), r.stderr());
            String id = ((ControlEvent.Accepted) events.get(0)).id();
            assertTrue(during.isDone(), "a progress sample with pushed bytes came before the end");
            Metrics srcDuring = during.get()[0];
            Metrics dstDuring = during.get()[1];

            // during: each agent shows the running migration's phase, the source's pushes are counted
            String srcPhase = srcDuring.onlyLabel("vmmig_migration_phase", Map.of("id", id, "role", "source"), "phase");
            assertTrue(List.of("pushing", "memory").contains(srcPhase), "source phase during the push: " + srcPhase);
            assertEquals(1.0, srcDuring.value("vmmig_migration_phase", Map.of("id", id, "role", "source", "phase", srcPhase)));
            String dstPhase = dstDuring.onlyLabel("vmmig_migration_phase", Map.of("id", id, "role", "destination"), "phase");
            assertTrue(List.of("pushing", "memory").contains(dstPhase), "destination phase during the push: " + dstPhase);
            assertTrue(srcDuring.value("vmmig_disk_pushed_bytes_total", Map.of("role", "source")) > 0, "pushed bytes during");
            assertFalse(srcDuring.has("vmmig_migrations_total", Map.of("outcome", "completed")), "nothing ended yet");

            // after: one completed hybrid migration on each side, its bytes, its downtime; no phase left
            Metrics src = scrape(a);
            Metrics dst = scrape(b);
            System.out.println("source agent's /metrics after the migration:\n" + src.text()
                    + "\ndestination agent's /metrics after the migration:\n" + dst.text());
            assertEquals(1.0, src.value("vmmig_migrations_total", Map.of("role", "source", "strategy", "hybrid", "outcome", "completed")));
            assertEquals(1.0, dst.value("vmmig_migrations_total", Map.of("role", "destination", "strategy", "hybrid", "outcome", "completed")));
            assertFalse(src.has("vmmig_migration_phase", Map.of("id", id)), "no phase once it ended");
            assertFalse(dst.has("vmmig_migration_phase", Map.of("id", id)));
            assertFalse(dst.has("vmmig_pull_queue_chunks", Map.of("id", id)), "the pull queue is gone with the migration");
            double srcPushed = src.value("vmmig_disk_pushed_bytes_total", Map.of("role", "source"));
            double dstPushed = dst.value("vmmig_disk_pushed_bytes_total", Map.of("role", "destination"));
            double dstPulled = dst.value("vmmig_disk_pulled_bytes_total", Map.of("role", "destination"));
            assertTrue(srcPushed > 0 && srcPushed >= srcDuring.value("vmmig_disk_pushed_bytes_total", Map.of("role", "source")), "pushed " + srcPushed);
            assertTrue(dstPushed > 0 && dstPushed <= srcPushed, "the destination received pushes: " + dstPushed + " of " + srcPushed);
            assertTrue(dstPushed + dstPulled >= 16 << 20, "at least the 16 MiB the guest wrote crossed: " + dstPushed + " + " + dstPulled);
            assertEquals(dstPulled, src.value("vmmig_disk_pulled_bytes_total", Map.of("role", "source")), "both sides count the same pull");
            assertTrue(src.value("vmmig_disk_wire_bytes_total", Map.of("role", "source")) > 0);
            assertEquals(0.0, src.value("vmmig_disk_deduplicated_bytes_total", Map.of("role", "source")));
            assertEquals(1.0, src.value("vmmig_downtime_seconds_count", Map.of("strategy", "hybrid")));
            assertTrue(src.value("vmmig_downtime_seconds_sum", Map.of("strategy", "hybrid")) > 0, "QEMU's downtime is more than 0 s");
            assertEquals(1.0, src.value("vmmig_guest_pause_seconds_count", Map.of("strategy", "hybrid")));
            assertEquals(1.0, src.value("vmmig_downtime_seconds_bucket", Map.of("strategy", "hybrid", "le", "+Inf")));
            assertTrue(dst.has("vmmig_on_demand_pull_seconds_count", Map.of()), "the on-demand latency histogram is exposed");

            // the logs: one INFO line per phase change, with the id, on both agents
            // (the source samples its phases twice a second and may miss a short one; PUSHING lasts seconds here)
            for (AgentProcess p : List.of(hosts.a, hosts.b)) {
                String log = p.logText();
                List<MigrationPhase> phases = p == hosts.b
                        ? List.of(MigrationPhase.PUSHING, MigrationPhase.MEMORY, MigrationPhase.FINISHING, MigrationPhase.COMPLETED)
                        : List.of(MigrationPhase.PUSHING, MigrationPhase.FINISHING, MigrationPhase.COMPLETED);
                for (MigrationPhase ph : phases)
                    assertTrue(Pattern.compile("(?m)^(\\S+ )?INFO MigrationRecord - migration " + id + ": " + ph + " after \\d+ ms$")
                            .matcher(log).find(), p.name + " logs " + ph + ":\n" + p.logTail());
            }
            try (QmpClient q = QmpClient.connect(dir.resolve("b/state/m").resolve(id).resolve("qmp.sock"))) {
                String verdict = vm.verifyAtDestination();
                assertTrue(verdict.startsWith("VERIFY OK"), verdict);
                q.call(new Quit());
            }
        }
    }

    /** One scrape: the text, checked by {@code promtool check metrics}, and its samples. */
    record Metrics(String text, List<Sample> samples) {
        record Sample(String name, Map<String, String> labels, double value) {}

        private static final Pattern LINE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)$");
        private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

        static Metrics parse(String text) {
            List<Sample> out = new ArrayList<>();
            for (String l : text.lines().toList()) {
                if (l.isBlank() || l.startsWith("#")) continue;
                Matcher m = LINE.matcher(l);
                assertTrue(m.matches(), "sample line: " + l);
                Map<String, String> labels = new java.util.HashMap<>();
                if (m.group(3) != null) {
                    Matcher lm = LABEL.matcher(m.group(3));
                    while (lm.find()) labels.put(lm.group(1), lm.group(2));
                }
                out.add(new Sample(m.group(1), labels, Double.parseDouble(m.group(4))));
            }
            return new Metrics(text, out);
        }

        List<Sample> find(String name, Map<String, String> labels) {
            return samples.stream().filter(s -> s.name.equals(name) && s.labels.entrySet().containsAll(labels.entrySet())).toList();
        }

        boolean has(String name, Map<String, String> labels) {
            return !find(name, labels).isEmpty();
        }

        double value(String name, Map<String, String> labels) {
            List<Sample> f = find(name, labels);
            assertEquals(1, f.size(), "one " + name + labels + " in:\n" + text);
            return f.get(0).value;
        }

        String onlyLabel(String name, Map<String, String> labels, String label) {
            List<Sample> f = find(name, labels);
            assertEquals(1, f.size(), "one " + name + labels + " in:\n" + text);
            return f.get(0).labels.get(label);
        }
    }

    static Metrics scrape(String url) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"), r.headers().toString());
        Process p = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        p.getOutputStream().write(r.body().getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String verdict = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "promtool check metrics:\n" + verdict + "\non:\n" + r.body());
        return Metrics.parse(r.body());
    }
}
