package io.vmmig.lab.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmmig.testkit.ConsoleLine;
import io.vmmig.testkit.Heartbeats;
import io.vmmig.testkit.InterruptibleCommand;
import io.vmmig.testkit.SerialConsole;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import io.vmmig.testkit.net.InterfaceCounters;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One run of a libvirt column on the libvirt lab: a fresh domain on host a running the test guest (same kernel,
 * initramfs and workload as the plain-QEMU column, its serial console on a UNIX socket this JVM listens on),
 * booted and prefilled, then moved to host b by libvirt ({@code virsh migrate --live --copy-storage-all --p2p}) or
 * by vmmig ({@code vmmig migrate DOMAIN DEST} through agent a); then the guest verifies its disk at b.
 */
final class LibvirtPeerRun {
    static final String DOMAIN = "vmmigbench";
    private static final String IMAGE = "/srv/vmimg/" + DOMAIN + ".qcow2";
    private static final Pattern TPUT = Pattern.compile("^TPUT ");
    private static final Pattern DOWNTIME = Pattern.compile("(?m)^Total downtime:\\s+(\\d+)\\s+ms");
    private static final Pattern MEMORY = Pattern.compile("(?m)^Memory processed:\\s+([0-9.]+) (KiB|MiB|GiB|B)");
    private static final Duration PREFILL = Duration.ofMinutes(15);
    private static final Duration COMMAND_LIMIT = Duration.ofMinutes(20);

    private final LibvirtLab lab;
    private final LabAgents agents;
    private final ScaleScenario scale;
    private final Path dir;
    private final long[] libvirtdPids;
    /** The source tree's {@code vmmig} launcher: the CLI starts as a user's does (C1, serial GC, its CDS archive). */
    private final Path launcher;

    LibvirtPeerRun(LibvirtLab lab, LabAgents agents, ScaleScenario scale, Path dir, long[] libvirtdPids, Path launcher) {
        this.launcher = launcher;
        this.lab = lab;
        this.agents = agents;
        this.scale = scale;
        this.dir = dir;
        this.libvirtdPids = libvirtdPids;
    }

    PeerResult run(PeerSystem system, LinkProfile link, int repeat) {
        Path runDir = dir.resolve(system.label() + "-" + link.label() + "-" + repeat);
        try {
            Files.createDirectories(runDir);
            return measure(system, link, repeat, runDir);
        } catch (Exception e) {
            String msg = e.getClass().getSimpleName() + ": " + e.getMessage();
            if (system == PeerSystem.VMMIG_LIBVIRT) msg += "\nagent a:\n" + agents.logTail(LibvirtLab.Host.A) + "\nagent b:\n"
                    + agents.logTail(LibvirtLab.Host.B);
            return PeerResult.failed(system, link, repeat, msg);
        } finally {
            for (LibvirtLab.Host h : LibvirtLab.Host.values()) {
                lab.tryExec(h, "virsh", "-c", "qemu:///system", "destroy", DOMAIN);
                lab.tryExec(h, "virsh", "-c", "qemu:///system", "undefine", DOMAIN);
                lab.tryExec(h, "sh", "-c", "rm -f /srv/vmimg/" + DOMAIN + ".*");
            }
        }
    }

    private PeerResult measure(PeerSystem system, LinkProfile link, int repeat, Path runDir) throws Exception {
        Workload w = scale.workload();
        Path serial = runDir.resolve("serial.sock");
        try (SerialConsole src = SerialConsole.listen("lv-a", serial, runDir.resolve("console-a.log"))) {
            lab.exec(LibvirtLab.Host.A, "qemu-img", "create", "-f", "qcow2", IMAGE, scale.diskMib() + "M");
            // libvirt's NBD copy writes into an image that exists at the destination; vmmig creates its own
            if (system == PeerSystem.LIBVIRT)
                lab.exec(LibvirtLab.Host.B, "qemu-img", "create", "-f", "qcow2", IMAGE, scale.diskMib() + "M");
            Path xml = runDir.resolve("domain.xml");
            Files.writeString(xml, domainXml(w, serial));
            lab.virsh(LibvirtLab.Host.A, "define", xml.toString());
            lab.virsh(LibvirtLab.Host.A, "start", DOMAIN);
            int at = src.awaitLine(Pattern.compile("^PREFILL DONE"), PREFILL).index() + 1;
            for (int i = 0; i < BenchRun.REPORTS_BEFORE + 1; i++) at = src.awaitLine(TPUT, Duration.ofSeconds(30), at).index() + 1;
            SerialConsole dst = src.successor("lv-b", runDir.resolve("console-b.log"));

            double cpu0 = cpu(system);
            long start = System.nanoTime();
            WireSampler wire = new WireSampler(lab::counters, start, 250);
            long total;
            long ram = -1;
            String jobInfo;
            CliStartTimes cli = new CliStartTimes();
            long cutoverMillis = -1;
            try {
                if (system == PeerSystem.LIBVIRT) {
                    lab.virsh(LibvirtLab.Host.A, "migrate", "--live", "--copy-storage-all", "--p2p", DOMAIN, LibvirtLab.URI_B);
                    total = (System.nanoTime() - start) / 1_000_000;
                } else {
                    JsonNode report = vmmigMigrate(cli);
                    total = report.path("totalMillis").asLong(-1);
                    // the switchover on the bench's clock: the agent's push and libvirt's migrate call, after the CLI was accepted
                    long push = report.path("pushMillis").asLong(-1), migrate = report.path("libvirtMigrateMillis").asLong(-1);
                    if (push >= 0 && migrate >= 0 && cli.acceptedMillis() >= 0) cutoverMillis = cli.acceptedMillis() + push + migrate;
                    System.out.println("    vmmig report: " + report);
                }
            } finally {
                wire.close();
            }
            long command = (System.nanoTime() - start) / 1_000_000;
            double cpu = cpu(system) - cpu0;
            InterfaceCounters bytes = wire.delta();
            jobInfo = jobInfo();
            if (jobInfo.isEmpty()) System.out.println("    no completed job info (virsh domjobinfo --completed) at either host");
            long downtime = match(DOWNTIME, jobInfo);
            Matcher m = MEMORY.matcher(jobInfo);
            if (m.find()) ram = (long) (Double.parseDouble(m.group(1)) * switch (m.group(2)) {
                case "GiB" -> 1 << 30;
                case "MiB" -> 1 << 20;
                case "KiB" -> 1 << 10;
                default -> 1;
            });

            int mark = dst.lineCount();
            for (int i = 0, from = mark; i < BenchRun.REPORTS_AFTER + 1; i++) from = dst.awaitLine(TPUT, Duration.ofSeconds(30), from).index() + 1;
            int vmark = dst.lineCount();
            dst.send("verify");
            String verify = dst.awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofMinutes(5), vmark).text();
            List<String> texts = Stream.concat(src.lines().stream(), dst.lines().stream()).map(ConsoleLine::text).toList();
            String verdict = GuestIntegrity.verdict(verify, texts);

            List<ConsoleLine> lines = Stream.concat(src.lines().stream(), dst.lines().stream())
                    .sorted(Comparator.comparingLong(ConsoleLine::nanoTime)).toList();
            GuestThroughput tput = GuestThroughput.of(start, lines);
            double end = total / 1000.0;
            long pause = Heartbeats.of(src.lines(), dst.lines()).consoleChanges().stream().findFirst()
                    .map(g -> g.host().toMillis()).orElse(-1L);
            if (system == PeerSystem.VMMIG_LIBVIRT)
                System.out.printf("    vmmig migrate: accepted %d ms after the command started, PREPARING %d ms%n", cli.acceptedMillis(),
                        cli.preparingMillis());
            return new PeerResult(system, link, repeat, total, command, cli.acceptedMillis(), cli.preparingMillis(), downtime, pause, bytes.txBytes(), bytes.rxBytes(), ram,
                    tput.before(BenchRun.REPORTS_BEFORE), tput.during(end), tput.after(end),
                    cutoverMillis < 0 ? Double.NaN : tput.duringPull(cutoverMillis / 1000.0, command / 1000.0), cpu, verdict, BenchRun.loadAverage(),
                    wire.samples(), tput.samples(), null);
        }
    }

    private double cpu(PeerSystem system) {
        return system == PeerSystem.LIBVIRT ? ProcessCpu.seconds(libvirtdPids) : agents.cpuSeconds();
    }

    /** libvirt's record of the completed migration job, at the destination (or, failing that, the source). */
    private String jobInfo() {
        for (LibvirtLab.Host h : List.of(LibvirtLab.Host.B, LibvirtLab.Host.A)) {
            try {
                String out = lab.virsh(h, "domjobinfo", "--completed", DOMAIN);
                if (DOWNTIME.matcher(out).find()) return out;
            } catch (Exception e) {
                // try the other host
            }
        }
        return "";
    }

    private static long match(Pattern p, String text) {
        Matcher m = p.matcher(text);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /**
     * {@code vmmig migrate --json DOMAIN 10.214.0.2:PORT} against agent a, started through the source tree's launcher
     * as a user would; the report's JSON. {@code cli} sees each event line as it arrives.
     */
    private JsonNode vmmigMigrate(CliStartTimes cli) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(launcher.toString(), "migrate", "--json", DOMAIN,
                LibvirtLab.Host.B.address + ":" + LabAgents.PORT, "--socket", agents.controlSocket(LibvirtLab.Host.A).toString()));
        Path err = dir.resolve("cli.err");
        long started = System.nanoTime();
        Process p = new ProcessBuilder(InterruptibleCommand.of(argv)).redirectError(err.toFile()).start();
        p.getOutputStream().close();
        ObjectMapper json = new ObjectMapper();
        JsonNode report = null;
        List<String> out = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                out.add(line);
                long at = System.nanoTime() - started;
                try {
                    JsonNode n = json.readTree(line);
                    cli.observe(n, at);
                    if (n.has("report") && n.get("report").isObject()) report = n.get("report");
                } catch (IOException notJson) {
                    // keep the line for the error message
                }
            }
        }
        if (!p.waitFor(COMMAND_LIMIT.toMinutes(), TimeUnit.MINUTES)) p.destroyForcibly();
        if (p.exitValue() != 0 || report == null)
            throw new IllegalStateException("vmmig migrate exited " + p.exitValue() + ": " + String.join("\n", out.subList(Math.max(0,
                    out.size() - 10), out.size())) + "\n" + Files.readString(err));
        return report;
    }

    private String domainXml(Workload w, Path serial) {
        return io.vmmig.testkit.GuestDomainXml.of(DOMAIN, scale.ramMib(), w, serial,
                java.util.List.of(new io.vmmig.testkit.GuestDomainXml.Disk("qcow2", String.valueOf(IMAGE), "vda")));
    }
}
