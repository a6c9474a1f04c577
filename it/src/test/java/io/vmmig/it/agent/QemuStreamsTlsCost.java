package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.testkit.TestKitException;
import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What QEMU's TLS costs: the same migration (the agent ITs' writing guest, 256 MiB, 16 MiB written area,
 * 1000 writes/s over a 4 MiB hot set) between two agents on two lab hosts with QEMU's streams in TLS and in
 * plain TCP ({@code tls.qemu-streams = false}; the agents' own connections are TLS either way), unshaped
 * and at 100 Mbit/s ({@code tbf} both ways), hybrid and mirror: total time, and the CPU seconds the two
 * agents and the two QEMUs spent during it ({@code /proc/PID/stat}). A benchmark, not a test (the class
 * name does not end in IT, so {@code mvn verify} skips it); run it on a quiet machine with
 *
 * <pre>
 * mvn -B verify -pl it -am -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dit.test=QemuStreamsTlsCost -Dfailsafe.failIfNoSpecifiedTests=false -Dvmmig.tls-cost.repeats=2 \
 *     [-Dvmmig.tls-cost.links="100 Mbit/s"]
 * </pre>
 *
 * A run whose TCG guest crashes (seen under heavy CPU contention, a QEMU 7.2 TCG effect: see the shared
 * notes on stale RAM) is printed and left out of the table.
 *
 * It prints one line per run and a table of medians (it/target/failsafe-reports/*QemuStreamsTlsCost-output.txt).
 */
@Timeout(value = 60, unit = TimeUnit.MINUTES)
class QemuStreamsTlsCost {
    @TempDir
    Path dir;

    record Sample(String link, String strategy, String streams, double totalS, double cutoverS, Map<String, Double> cpu) {
        double cpuTotal() {
            return cpu.values().stream().mapToDouble(Double::doubleValue).sum();
        }
    }

    @Test
    void measure() throws Exception {
        String why = NetworkLab.unavailableReason().orElse(null);
        assumeTrue(why == null, why);
        int repeats = Integer.getInteger("vmmig.tls-cost.repeats", 2);
        System.out.println("load before: " + uptime());
        List<Sample> samples = new ArrayList<>();
        try (NetworkLab lab = NetworkLab.create()) {
            TestPki pki = AgentHosts.labPki(dir);
            String qemuA = QemuStreamsTlsIT.qemuOn(lab, LabHost.A, dir).toString();
            try (AgentHosts tls = AgentHosts.startInLab(dir.resolve("tls"), lab, pki, 7410, List.of(), List.of());
                 AgentHosts plain = AgentHosts.startInLab(dir.resolve("plain"), lab, pki, 7420,
                         List.of("tls.qemu-streams = false"), List.of("tls.qemu-streams = false"))) {
                Map<String, AgentHosts> pairs = new LinkedHashMap<>();
                pairs.put("plain", plain);
                pairs.put("tls", tls);
                int n = 0;
                for (var pair : pairs.entrySet()) {   // warm-up: the agents' first migration pays the JIT
                    try {
                        run(lab, dir, pair.getValue(), qemuA, "warmup-" + n++, "hybrid", "unshaped", pair.getKey());
                    } catch (TestKitException e) {
                        System.out.println("warm-up guest did not make it: " + e.getMessage().lines().findFirst().orElse(""));
                    }
                }
                for (String link : System.getProperty("vmmig.tls-cost.links", "unshaped,100 Mbit/s").split(",")) {
                    if (link.equals("unshaped")) lab.unshaped();
                    else lab.shape(100_000_000L);
                    for (String strategy : List.of("hybrid", "mirror")) {
                        for (int r = 0; r < repeats; r++) {
                            for (var pair : pairs.entrySet()) {   // interleaved, so a load change hits both alike
                                try {
                                    samples.add(run(lab, dir, pair.getValue(), qemuA, "cost-" + n++, strategy, link, pair.getKey()));
                                } catch (TestKitException e) {   // a TCG guest crash under CPU contention: see the run's line
                                    System.out.println("cost-" + (n - 1) + " " + link + " " + strategy + " " + pair.getKey()
                                            + ": not counted, the guest did not make it: " + e.getMessage().lines().findFirst().orElse(""));
                                }
                            }
                        }
                    }
                }
            }
        }
        System.out.println("load after: " + uptime());
        System.out.println(table(samples));
    }

    private static Sample run(NetworkLab lab, Path dir, AgentHosts hosts, String qemuA, String name, String strategy,
                              String link, String streams) throws Exception {
        try (TestVm vm = bootRetryingOnce(dir, name, qemuA)) {
            QemuStreamsTlsIT.Run run = QemuStreamsTlsIT.migrate(lab, dir, null, hosts, vm, strategy);
            assertInstanceOf(ControlEvent.Report.class, run.last(), () -> name + " failed: " + run.last());
            QemuStreamsTlsIT.assertLanded(hosts, vm, run);   // VERIFY OK there, then the destination QEMU quits
            MigrationReport r = run.report();
            Sample s = new Sample(link, strategy, streams, r.totalMillis() / 1000.0, r.cutoverMillis() / 1000.0, run.cpu());
            System.out.printf("%s %-10s %-6s QEMU streams %-5s total %6.2f s cutover %6.2f s RAM %5.1f MiB CPU s %s = %.2f%n", name,
                    link, strategy, streams, s.totalS(), s.cutoverS(), r.ramBytes() / 1048576.0, s.cpu(), s.cpuTotal());
            return s;
        }
    }

    /**
     * A TCG guest on a loaded machine now and then panics in early boot ("IO-APIC + timer doesn't work"):
     * for a benchmark, boot once more rather than lose the whole matrix (the runs are counted in the table).
     */
    private static TestVm bootRetryingOnce(Path dir, String name, String qemuA) throws Exception {
        try {
            return TestVm.boot(dir, name, TestVm.workload(QemuStreamsTlsIT.AREA_MIB, 1000), qemuA);
        } catch (TestKitException e) {
            System.out.println(name + ": the guest did not boot (" + e.getMessage().lines().findFirst().orElse("") + "), once more");
            return TestVm.boot(dir, name + "-again", TestVm.workload(QemuStreamsTlsIT.AREA_MIB, 1000), qemuA);
        }
    }

    static String table(List<Sample> samples) {
        StringBuilder b = new StringBuilder("| link | strategy | QEMU streams | runs | total s (median) | CPU s agents+QEMUs (median) "
                + "| of which source QEMU | destination QEMU |\n|---|---|---|---|---|---|---|---|\n");
        Map<String, List<Sample>> groups = new LinkedHashMap<>();
        for (Sample s : samples) groups.computeIfAbsent(s.link() + "|" + s.strategy() + "|" + s.streams(), k -> new ArrayList<>()).add(s);
        for (var g : groups.entrySet()) {
            List<Sample> l = g.getValue();
            b.append(String.format("| %s | %d | %.2f | %.2f | %.2f | %.2f |%n", g.getKey().replace("|", " | "), l.size(),
                    median(l.stream().map(Sample::totalS).toList()), median(l.stream().map(Sample::cpuTotal).toList()),
                    median(l.stream().map(s -> s.cpu().get("qemu-src")).toList()),
                    median(l.stream().map(s -> s.cpu().get("qemu-dst")).toList())));
        }
        return b.toString();
    }

    static double median(List<Double> v) {
        List<Double> s = v.stream().sorted().toList();
        int n = s.size();
        return n == 0 ? Double.NaN : n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    static String uptime() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "?";
        }
    }
}
