package io.vmmig.lab.bench;

import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.net.NetworkLab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code vmmig bench --scale real|small}: the side-by-side scenario of issue 14. On each link, in one run, the
 * same guest (same kernel, initramfs, workload and sizes) is migrated by vmmig hybrid on a plain QEMU process
 * (the bench's engine path over a NetworkLab pair), by libvirt's {@code virsh migrate --live --copy-storage-all
 * --p2p} and by vmmig hybrid of the same libvirt domain ({@code vmmig migrate DOMAIN DEST}, two agents) between the
 * two private libvirtd of the libvirt lab, whose veth pair is shaped like the NetworkLab's.
 */
final class ScaleBench {
    /** vmmig-qemu on the agent's NBD data path instead of the local one ({@code --data-path agent}). */
    private final boolean agentDataPath;
    private final ScaleScenario scale;
    private final List<LinkProfile> links;
    private final List<PeerSystem> systems;
    private final int repeats;
    private final Path folder;
    private final String command;

    ScaleBench(ScaleScenario scale, List<LinkProfile> links, List<PeerSystem> systems, int repeats, Path folder, String command,
               boolean agentDataPath) {
        this.agentDataPath = agentDataPath;
        this.scale = scale;
        this.links = links;
        this.systems = systems;
        this.repeats = repeats;
        this.folder = folder;
        this.command = command;
    }

    /** Runs everything; true if every run was valid. */
    boolean run(TestGuest guest, Path repo) throws Exception {
        long t0 = System.nanoTime();
        Instant started = Instant.now();
        Files.createDirectories(folder);
        List<PeerResult> results = new ArrayList<>();
        int total = links.size() * repeats * systems.size();
        System.out.printf("%s: %d runs into %s; %s; load %s%n", command, total, folder, scale.describe(), BenchRun.loadAverage());
        Path workRoot = Files.createTempDirectory("vmmig-bench-scale-");
        // not under the harness directory: other JVMs sweep what has no owner file there
        Path agentsDir = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "vmmig-bench-agents-" + ProcessHandle.current().pid()));
        boolean libvirt = systems.contains(PeerSystem.LIBVIRT) || systems.contains(PeerSystem.VMMIG_LIBVIRT);
        try {
            GuestSnapshot snapshot = null;
            if (systems.contains(PeerSystem.VMMIG_QEMU)) {
                snapshot = GuestSnapshot.prepare(guest, scale.workload(), scale.ramMib(), (long) scale.diskMib() << 20,
                        Files.createDirectories(workRoot.resolve("snapshot")));
                System.out.printf("[%5.0fs] plain-QEMU guest booted, prefilled and saved in %.1f s; load %s%n", (System.nanoTime() - t0) / 1e9,
                        snapshot.prepareTime().toMillis() / 1000.0, BenchRun.loadAverage());
            }
            LibvirtLab lv = null;
            LabAgents agents = null;
            try {
                if (libvirt) {
                    LabAgents.writeConfigs(agentsDir);
                    lv = LibvirtLab.up(repo, agentsDir);
                    // the lab's libvirtd run vmmig's qemu hook, which refuses a migration while no agent runs (as on a
                    // compute node with vmmig installed): the agents are up for libvirt's own column too
                    agents = LabAgents.start(lv, agentsDir);
                    if (systems.contains(PeerSystem.VMMIG_LIBVIRT)) {
                        // the CLI runs through the launcher, as a user's does: once first, so it is built and has its CDS archive
                        io.vmmig.testkit.HostCommand.run(null, java.time.Duration.ofMinutes(10), List.of(repo.resolve("vmmig").toString(), "--version"));
                    }
                    System.out.printf("[%5.0fs] libvirt lab up (%s, %s)%s%n", (System.nanoTime() - t0) / 1e9, lv.namespace(LibvirtLab.Host.A),
                            lv.namespace(LibvirtLab.Host.B), agents == null ? "" : ", one vmmig agent in each");
                }
                int port = 7300;
                for (LinkProfile link : links) {
                    if (lv != null) {
                        if (link.shaped()) lv.shape(link.rateBitsPerSecond());
                        else lv.unshaped();
                    }
                    Path linkDir = Files.createDirectories(workRoot.resolve(link.label()));
                    // one lab per link: the RTT is the lab's link itself (the packet delay line)
                    try (NetworkLab lab = link.openLab();
                         CrossLinks cross = CrossLinks.open(lab, linkDir, port, link, "mirror-" + BenchRun.ID + ".sock")) {
                        port += 10;
                        BenchRun plain = snapshot == null ? null
                                : new BenchRun(lab, cross, guest, Map.of(BenchWorkload.STEADY, snapshot), scale.sizes(), workRoot)
                                        .withAgentDataPath(agentDataPath);
                        LibvirtPeerRun domains = lv == null ? null
                                : new LibvirtPeerRun(lv, agents, scale, Files.createDirectories(linkDir.resolve("libvirt")), lv.libvirtdPids(),
                                        repo.resolve("vmmig"));
                        for (int r = 1; r <= repeats; r++) {
                            for (PeerSystem s : systems) {
                                PeerResult res;
                                if (s == PeerSystem.VMMIG_QEMU) {
                                    long self = ProcessHandle.current().pid();
                                    double cpu0 = ProcessCpu.seconds(self);
                                    RunResult rr = plain.run(BenchStrategy.HYBRID, BenchWorkload.STEADY, link, r);
                                    res = PeerResult.of(rr, ProcessCpu.seconds(self) - cpu0);
                                } else {
                                    res = domains.run(s, link, r);
                                }
                                results.add(res);
                                System.out.printf("[%5.0fs] %d/%d %s%n", (System.nanoTime() - t0) / 1e9, results.size(), total, oneLine(res));
                                write(results, started, t0, false);
                            }
                        }
                    }
                }
            } finally {
                if (agents != null) agents.close();
                if (lv != null) lv.close();
            }
        } finally {
            deleteTree(workRoot);
            deleteTree(agentsDir);
        }
        String md = write(results, started, t0, true);
        System.out.println();
        System.out.print(md);
        System.out.printf("%nvmmig bench --scale %s: %d runs in %s, total wall time %.1f min%n", scale.label(), results.size(), folder,
                (System.nanoTime() - t0) / 60e9);
        return results.stream().allMatch(PeerResult::ok);
    }

    static String oneLine(PeerResult r) {
        String what = r.link().label() + " / " + r.system().label() + " #" + r.repeat();
        if (!r.ok()) return what + ": " + (r.error() != null ? "FAILED " : "") + r.failure() + "; load " + r.load();
        return String.format("%s: total %.2f s (command %.2f s), downtime %d ms, guest pause %d ms, wire %.1f MiB, RAM %.1f MiB,"
                        + " guest %.2f/%.2f/%.2f MiB/s, agent CPU %.1f s, %s; load %s", what, r.totalMillis() / 1000.0,
                r.commandMillis() / 1000.0, r.downtimeMillis(), r.guestPauseMillis(), r.wireBytes() / 1048576.0, r.ramBytes() / 1048576.0,
                r.tputBefore() / 1048576.0, r.tputDuring() / 1048576.0, r.tputAfter() / 1048576.0, r.agentCpuSeconds(), r.verify(), r.load());
    }

    private String write(List<PeerResult> results, Instant started, long t0, boolean plots) throws IOException {
        PeerTable table = new PeerTable(results, scale);
        StringBuilder md = new StringBuilder("# vmmig beside libvirt at scale\n\n");
        md.append(String.format("`%s`, started %s, %d runs, wall time %.0f s.%n%n", command, started, results.size(),
                (System.nanoTime() - t0) / 1e9));
        md.append("Guest: ").append(scale.describe()).append(".\n\nSystems, each on the same guest and link in this run:\n\n");
        for (PeerSystem s : systems) md.append("- ").append(s.label()).append(": ").append(s.description()).append('\n');
        md.append("\nLinks (the same tbf on the NetworkLab pair and on the libvirt lab's veth pair):\n\n");
        for (LinkProfile l : links) md.append("- ").append(l.describe()).append('\n');
        md.append("""

                Columns: median (min-max) over the valid runs. total = migration start to the disk being local at the \
                destination (vmmig-qemu: the later of the source's end and the destination's; vmmig-libvirt: the report's \
                totalMillis, which waits for the destination's end; libvirt: the wall time of `virsh migrate`, which returns \
                when the domain runs at the destination on its own disk); command = wall time of the command (vmmig-libvirt: \
                the CLI's, with its JVM start and PREPARING); CLI start to accepted = from starting `vmmig migrate --json` through \
                the source tree's launcher (as a user's shell does: C1, serial GC, the CLI's CDS archive) to the agent's \
                `accepted` line, and PREPARING = the agent's elapsed time at the first phase after PREPARING (issue 14's goals: \
                <= 0.5 s and <= 1 s); downtime = QEMU's figure (vmmig-qemu: query-migrate; the libvirt \
                domains: `virsh domjobinfo --completed`, Total downtime); guest pause = the guest's 20 ms heartbeats' gap where \
                they move from the source's console to the destination's (host clock); wire = bytes on the source host's \
                veth end, both directions; RAM = QEMU's (or libvirt's "Memory processed") memory bytes; guest MiB/s = the guest's \
                TPUT reports, the last %d before the start, those during, those more than 1 s after the end, and those during the \
                destination's pull (from 1 s after the switchover to the end; vmmig-libvirt's switchover = the CLI's accepted + \
                the agent's push + libvirt's migrate call; libvirt has no pull); agent CPU s = user \
                + system CPU seconds over the run (/proc/PID/stat) of: %s; limit = (written area + smallest RAM transfer on the \
                link) / link rate (unshaped: -); load = 1-minute load average at the end of each run. A run is invalid on \
                VERIFY FAIL or a kernel oops/panic on the guest's console, and said so below.

                """.formatted(BenchRun.REPORTS_BEFORE, String.join("; ", systems.stream().map(s -> s.label() + ": " + s.agents()).toList())));
        md.append(table.markdown()).append("\nRatios to libvirt (medians):\n\n").append(table.ratios());
        if (plots) {
            md.append("\nPlots:\n\n");
            for (LinkProfile l : links) {
                List<RunResult> first = new ArrayList<>();
                List<String> labels = new ArrayList<>();
                for (PeerSystem s : systems)
                    results.stream().filter(r -> r.ok() && r.system() == s && r.link().equals(l)).findFirst().ifPresent(r -> {
                        first.add(r.forPlot());
                        labels.add(s.label());
                    });
                String name = "scale-" + scale.label() + "-" + l.label() + ".svg";
                Files.writeString(folder.resolve(name), TimelinePlot.svg(scale.label() + " scale, " + l.label()
                        + " (first valid run of each system)", first, labels));
                md.append("- [").append(name).append("](").append(name).append(")\n");
            }
        }
        Files.writeString(folder.resolve("results.md"), md.toString());
        Files.writeString(folder.resolve("results.csv"), table.csv());
        return md.toString();
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
