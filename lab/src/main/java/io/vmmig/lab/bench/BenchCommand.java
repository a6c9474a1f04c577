package io.vmmig.lab.bench;

import io.vmmig.agent.Main;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.net.NetworkLab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmmig bench}: every strategy on every workload over every link profile, between two lab
 * "hosts" (network namespaces over a shaped veth), repeated; writes a Markdown table, a CSV and one
 * timeline plot per scenario.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Benchmark hybrid, pre-copy, mirror (background, write-blocking) and post-copy side by side "
                + "on a real guest over a shaped link (needs root: network namespaces and tbf). Without options: "
                + "the whole matrix (3 workloads x 5 strategies x 4 links x 3 repeats, about 35 min on 2 cores).")
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--quick", description = "one repeat, 100 Mbit/s only: a smoke test")
    boolean quick;

    @Option(names = "--compression", defaultValue = "off", split = ",",
            description = "chunk compression of the source: off, deflate, zstd, adaptive; several: each run once per mode"
                    + " (default ${DEFAULT-VALUE})")
    List<String> compression;

    @Option(names = "--area-mib", description = "the guest's written area in MiB (default 16; the disk is twice that, at least 32)")
    Integer areaMib;

    @Option(names = "--text-payload", description = "the guest writes compressible (text-like) blocks instead of random ones")
    boolean textPayload;

    @Option(names = "--precopy-source", defaultValue = "fresh", paramLabel = "fresh|restored",
            description = "pre-copy runs boot their source guest (fresh, the default: restored guests are where long TCG "
                    + "pre-copies left stale guest RAM) or restore the saved one like the other strategies (restored)")
    String precopySource;

    @Option(names = "--outside-probe", description = "the guest gets a NIC on a LAN across the lab, its QEMUs run in the hosts'"
            + " namespaces, and each run prints the downtime from outside (a UDP probe every 10 ms) beside QEMU's and the heartbeat gap")
    boolean outsideProbe;

    @Option(names = "--repeats", defaultValue = "3", description = "runs per cell (default ${DEFAULT-VALUE})")
    int repeats;

    @Option(names = "--out", description = "results folder (default bench-results/<UTC date>/quick or .../matrix)")
    Path out;

    @Option(names = "--strategies", split = ",", description = "subset of hybrid, precopy, mirror-bg, mirror-wb, postcopy; memory-only adds the reference run that moves"
            + " no disk (QEMU's memory migration over the shared image: its downtime is QEMU's own on the link)")
    List<String> strategyNames;

    @Option(names = "--workloads", split = ",", description = "subset of idle, steady, heavy")
    List<String> workloadNames;

    @Option(names = "--links", split = ",", description = "subset of unshaped, 100mbit, 100mbit-50ms, 100mbit-200ms")
    List<String> linkNames;

    @Option(names = "--scale", paramLabel = "real|real-heavy|small",
            description = "the side-by-side scenario of issue 14 instead of the matrix: vmmig hybrid on plain QEMU, libvirt's virsh migrate "
                    + "--live --copy-storage-all --p2p and vmmig hybrid of the libvirt domain, on the same guest and link in one run. "
                    + "real: 256 MiB RAM, 2 GiB qcow2 with 512 MiB written, a 256 MiB hot set rewritten at 3.5 MiB/s; real-heavy: the same hot set "
                    + "rewritten as fast as the guest can (the destination's data path under load); small: the same "
                    + "shrunk (128 MiB RAM, 128 MiB disk, 32 MiB written) to check it end to end. Links default to unshaped,1gbit,100mbit; "
                    + "the libvirt lab uses VMMIG_LIBVIRT_LAB_NS / VMMIG_LIBVIRT_LAB")
    String scale;

    @Option(names = "--dedup", description = "the neighbourhood dedup comparison of issue 15 instead of the matrix: the guest's disk is the "
            + "Debian image vm.qcow2 (lab/images/build-debian-images) grown by a tail the idle workload writes; each strategy runs with "
            + "dedup off, on with no neighbour at the destination, and on with neighbour.qcow2 indexed there; images compared byte for byte "
            + "after each run. Strategies default to hybrid,postcopy, links to 100mbit-50ms")
    boolean dedup;

    @Option(names = "--debian-images", paramLabel = "DIR", description = "with --dedup: where vm.qcow2 and neighbour.qcow2 are "
            + "(default /var/cache/vmmig-lab/debian-images)")
    Path debianImages;

    @Option(names = "--data-path", defaultValue = "local", description = "the destination's data path for the engine's "
            + "chunk strategies: local (the guest's disk is the local image, the agent's export its backing node; the agent's "
            + "choice for qcow2) or agent (every guest I/O through the agent's NBD export until the pivot); default ${DEFAULT-VALUE}")
    String dataPath;

    /** {@code --data-path agent}; anything else than local or agent is refused (picocli's converter is not used: one place). */
    private boolean agentDataPath() {
        if (!List.of("local", "agent").contains(dataPath))
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "--data-path must be local or agent, not " + dataPath);
        return "agent".equals(dataPath);
    }

    @Option(names = "--systems", split = ",", description = "with --scale: subset of vmmig-qemu, libvirt, vmmig-libvirt (default all)")
    List<String> systemNames;

    @Override
    public Integer call() throws Exception {
        if (scale != null) return scaleBench();
        if (dedup) return dedupBench();
        List<BenchStrategy> strategies = strategyNames == null ? BenchStrategy.matrix()
                : pick(Arrays.asList(BenchStrategy.values()), strategyNames, BenchStrategy::label);
        List<BenchWorkload> workloads = pick(Arrays.asList(BenchWorkload.values()), workloadNames, BenchWorkload::label);
        List<LinkProfile> allLinks = List.of(LinkProfile.UNSHAPED, LinkProfile.MBIT_100, LinkProfile.MBIT_100_RTT_50,
                LinkProfile.MBIT_100_RTT_200);
        List<LinkProfile> links = pick(quick && linkNames == null ? List.of(LinkProfile.MBIT_100) : allLinks, linkNames,
                LinkProfile::label);
        int n = quick ? 1 : repeats;
        if (strategies == null || workloads == null || links == null || n < 1
                || !List.of("fresh", "restored").contains(precopySource)) {
            System.err.println("vmmig bench: unknown name in --strategies/--workloads/--links/--precopy-source, or --repeats < 1");
            return Main.EXIT_USAGE;
        }
        TestGuest guest = labAndGuest();
        if (guest == null) return Main.EXIT_ENVIRONMENT;
        BenchSizes sizes = sizes();
        List<io.vmmig.strategy.peer.ChunkCompression> modes = new ArrayList<>();
        for (String c : compression) modes.add(io.vmmig.strategy.peer.ChunkCompression.parse(c));
        Path folder = out != null ? out
                : Path.of("bench-results", LocalDate.now(ZoneOffset.UTC).toString(), quick ? "quick" : "matrix");
        Files.createDirectories(folder);
        String command = "vmmig bench" + (quick ? " --quick" : n != 3 ? " --repeats " + n : "")
                + (strategyNames != null ? " --strategies " + String.join(",", strategyNames) : "")
                + (workloadNames != null ? " --workloads " + String.join(",", workloadNames) : "")
                + (linkNames != null ? " --links " + String.join(",", linkNames) : "")
                + (!List.of("off").equals(compression) ? " --compression " + String.join(",", compression) : "")
                + (textPayload ? " --text-payload" : "") + (areaMib != null ? " --area-mib " + areaMib : "")
                + ("restored".equals(precopySource) ? " --precopy-source restored" : "")
                + (outsideProbe ? " --outside-probe" : "") + (agentDataPath() ? " --data-path agent" : "");
        int total = links.size() * workloads.size() * n * strategies.size() * compression.size();
        long t0 = System.nanoTime();
        Instant started = Instant.now();
        System.out.printf("%s: %d runs into %s%n", command, total, folder);
        List<RunResult> results = new ArrayList<>();
        Path workRoot = Files.createTempDirectory("vmmig-bench-");
        Map<BenchWorkload, GuestSnapshot> snapshots = new EnumMap<>(BenchWorkload.class);
        try {
            // without the outside probe the saved guests serve every link; with it each link's lab has its own guest LAN,
            // so the guests are saved again in each (their NIC is on that lab's tap)
            if (!outsideProbe) prepareSnapshots(guest, workloads, sizes, workRoot, snapshots, null, t0);
            int port = 7100;
            for (LinkProfile link : links) {
                Path linkDir = Files.createDirectories(workRoot.resolve(link.label()));
                // one lab per link: the RTT is the lab's link itself (the packet delay line), not a forwarder's
                try (NetworkLab lab = link.openLab();
                     CrossLinks cross = CrossLinks.open(lab, linkDir, port, link,
                        "mirror-" + BenchRun.ID + ".sock")) {
                    System.out.printf("[%5.0fs] link %s; load %s%n", (System.nanoTime() - t0) / 1e9, link.describe(),
                            BenchRun.loadAverage());
                    if (outsideProbe)
                        prepareSnapshots(guest, workloads, sizes, linkDir, snapshots, ProbedNetwork.create(lab, linkDir), t0);
                    port += 10;
                    BenchRun runner = new BenchRun(lab, cross, guest, snapshots, sizes, workRoot)
                            .withPrecopyBootingFresh("fresh".equals(precopySource)).withAgentDataPath(agentDataPath());
                    for (BenchWorkload w : workloads) {
                        for (int r = 1; r <= n; r++) {
                            for (BenchStrategy s : strategies) {
                                for (io.vmmig.strategy.peer.ChunkCompression mode : modes) {
                                    RunResult res = runner.withCompression(mode).run(s, w, link, r);
                                    results.add(res);
                                    System.out.printf("[%5.0fs] %d/%d %s%n", (System.nanoTime() - t0) / 1e9, results.size(),
                                            total, oneLine(res));
                                    write(folder, results, sizes, workloads, links, command, started, t0, false);
                                }
                            }
                        }
                    }
                }
            }
        } finally {
            try (var all = Files.walk(workRoot)) {
                all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        String md = write(folder, results, sizes, workloads, links, command, started, t0, true);
        System.out.println();
        System.out.print(md);
        System.out.printf("%nvmmig bench: %d runs in %s, total wall time %.1f min%n", results.size(), folder,
                (System.nanoTime() - t0) / 60e9);
        // A background mirror that never converges is a result; any other failed run is an error.
        return results.stream().allMatch(r -> r.ok() || r.error().startsWith("did not converge")) ? 0 : Main.EXIT_FAILED;
    }

    private void prepareSnapshots(TestGuest guest, List<BenchWorkload> workloads, BenchSizes sizes, Path dir, Map<BenchWorkload, GuestSnapshot> snapshots,
                                  ProbedNetwork net, long t0) throws java.io.IOException {
        for (BenchWorkload w : workloads) {
            GuestSnapshot g = GuestSnapshot.prepare(guest, w.workload(sizes).withTextPayload(textPayload), sizes.ramMib(),
                    (long) sizes.diskMib() << 20, Files.createDirectories(dir.resolve("snapshot-" + w.label())), net);
            snapshots.put(w, g);
            System.out.printf("[%5.0fs] %s guest booted, prefilled and saved in %.1f s%n",
                    (System.nanoTime() - t0) / 1e9, w.label(), g.prepareTime().toMillis() / 1000.0);
        }
    }

    /** Every link profile a bench may name (the matrix runs all but 1 Gbit/s by default). */
    private static final List<LinkProfile> EVERY_LINK = List.of(LinkProfile.UNSHAPED, LinkProfile.GBIT_1, LinkProfile.MBIT_100,
            LinkProfile.MBIT_100_RTT_50, LinkProfile.MBIT_100_RTT_200);

    /** The default sizes, with {@code --area-mib} (the disk twice the area, at least the default). */
    private BenchSizes sizes() {
        BenchSizes d = BenchSizes.defaults();
        return areaMib == null ? d : new BenchSizes(d.ramMib(), Math.max(d.diskMib(), 2 * areaMib), areaMib, d.hotMib(), d.steadyRate());
    }

    /** The network lab is usable and the test guest built; null after saying on stderr why not. */
    private static TestGuest labAndGuest() {
        var unavailable = NetworkLab.unavailableReason();
        if (unavailable.isPresent()) {
            System.err.println("vmmig bench: no network lab here: " + unavailable.get());
            return null;
        }
        try {
            return TestGuest.get();
        } catch (RuntimeException e) {
            System.err.println("vmmig bench: cannot build the test guest: " + e.getMessage());
            return null;
        }
    }

    /** {@code --dedup}: the neighbourhood dedup cells (DedupBench). */
    private Integer dedupBench() throws Exception {
        List<LinkProfile> links = pick(EVERY_LINK, linkNames == null ? List.of("100mbit-50ms") : linkNames, LinkProfile::label);
        List<BenchStrategy> strategies = pick(Arrays.asList(BenchStrategy.values()),
                strategyNames == null ? List.of("hybrid", "postcopy") : strategyNames, BenchStrategy::label);
        if (links == null || strategies == null || repeats < 1) {
            System.err.println("vmmig bench: unknown name in --links/--strategies, or --repeats < 1");
            return Main.EXIT_USAGE;
        }
        DebianImages images;
        DedupBench bench;
        BenchSizes sizes = sizes();
        Path folder = out != null ? out : Path.of("bench-results", LocalDate.now(ZoneOffset.UTC) + "-dedup-bench");
        String command = "vmmig bench --dedup --repeats " + repeats + (linkNames != null ? " --links " + String.join(",", linkNames) : "")
                + (strategyNames != null ? " --strategies " + String.join(",", strategyNames) : "")
                + (areaMib != null ? " --area-mib " + areaMib : "") + (debianImages != null ? " --debian-images " + debianImages : "");
        try {
            images = DebianImages.in(debianImages != null ? debianImages : DebianImages.DEFAULT_DIR);
        } catch (IllegalArgumentException e) {
            System.err.println("vmmig bench: " + e.getMessage());
            return Main.EXIT_ENVIRONMENT;
        }
        try {
            bench = new DedupBench(images, strategies, links, repeats, sizes, folder, command);
        } catch (IllegalArgumentException e) {
            System.err.println("vmmig bench: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        TestGuest guest = labAndGuest();
        if (guest == null) return Main.EXIT_ENVIRONMENT;
        return bench.run(guest) ? 0 : Main.EXIT_FAILED;
    }

    /** {@code --scale}: the side-by-side run (ScaleBench). */
    private Integer scaleBench() throws Exception {
        ScaleScenario sc;
        try {
            sc = ScaleScenario.named(scale);
        } catch (IllegalArgumentException e) {
            System.err.println("vmmig bench: " + e.getMessage());
            return Main.EXIT_USAGE;
        }
        List<LinkProfile> links = pick(EVERY_LINK, linkNames == null ? List.of("unshaped", "1gbit", "100mbit") : linkNames, LinkProfile::label);
        List<PeerSystem> systems = pick(Arrays.asList(PeerSystem.values()), systemNames, PeerSystem::label);
        if (links == null || systems == null || repeats < 1) {
            System.err.println("vmmig bench: unknown name in --links/--systems, or --repeats < 1");
            return Main.EXIT_USAGE;
        }
        Path repo = Path.of("").toAbsolutePath();
        while (repo != null && !Files.isExecutable(repo.resolve("lab/libvirt/libvirt-lab"))) repo = repo.getParent();
        if (repo == null) {
            System.err.println("vmmig bench: --scale runs from the source tree (lab/libvirt/libvirt-lab not found above " + Path.of("").toAbsolutePath() + ")");
            return Main.EXIT_ENVIRONMENT;
        }
        TestGuest guest = labAndGuest();
        if (guest == null) return Main.EXIT_ENVIRONMENT;
        Path folder = out != null ? out : Path.of("bench-results", LocalDate.now(ZoneOffset.UTC) + "-scale-" + sc.label());
        String command = "vmmig bench --scale " + sc.label() + " --repeats " + repeats
                + (linkNames != null ? " --links " + String.join(",", linkNames) : "")
                + (systemNames != null ? " --systems " + String.join(",", systemNames) : "") + (agentDataPath() ? " --data-path agent" : "");
        boolean allValid = new ScaleBench(sc, links, systems, repeats, folder, command, agentDataPath()).run(guest, repo);
        return allValid ? 0 : Main.EXIT_FAILED;
    }

    private static String oneLine(RunResult r) {
        String what = r.workload().label() + " / " + r.link().label() + " / " + r.strategy().label() + " #" + r.repeat();
        if (!r.ok()) return what + ": FAILED " + r.error();
        return String.format("%s: total %.2f s, cutover %.2f s, downtime %d ms (guest %d ms), wire %.1f MiB, "
                        + "guest %.2f/%.2f/%.2f MiB/s, on-demand %d, %s, %s", what, r.totalMillis() / 1000.0,
                r.cutoverMillis() / 1000.0, r.qemuDowntimeMillis(), r.guestPauseMillis(), r.wireBytes() / 1048576.0,
                r.tputBefore() / 1048576.0, r.tputDuring() / 1048576.0, r.tputAfter() / 1048576.0, r.onDemandPulls(),
                r.linkFill().describe(), r.verify());
    }

    /** Writes results.md, results.csv and the plots; returns the Markdown. */
    private static String write(Path folder, List<RunResult> results, BenchSizes sizes, List<BenchWorkload> workloads,
                                List<LinkProfile> links, String command, Instant started, long t0, boolean plots)
            throws IOException {
        ResultsTable table = new ResultsTable(results, sizes);
        StringBuilder md = new StringBuilder();
        md.append("# vmmig bench results\n\n");
        md.append(String.format("`%s`, started %s, %d runs, wall time %.0f s.%n%n", command, started, results.size(),
                (System.nanoTime() - t0) / 1e9));
        md.append(String.format("Guest: TCG test guest, %d MiB RAM, %d MiB qcow2 disk; chunk %d KiB, hybrid threshold %d, "
                        + "pre-copy at most 10 rounds / converged at 8 MiB; a mirror not READY and migrated within %d s did not converge.%n%n", sizes.ramMib(), sizes.diskMib(),
                BenchRun.CHUNK / 1024, BenchRun.THRESHOLD, BenchRun.MIRROR_LIMIT.toSeconds()));
        md.append("Workloads:\n\n");
        for (BenchWorkload w : workloads) md.append("- ").append(w.describe(sizes)).append('\n');
        md.append("\nLinks:\n\n");
        for (LinkProfile l : links) md.append("- ").append(l.describe()).append('\n');
        md.append("""

                How it runs: each workload's guest is booted, prefilled and saved once (QEMU migration stream of the \
                paused guest + its qcow2); every run restores a copy of it as the source, so all runs of a workload \
                start from the same state. Pre-copy runs start only once the host's cores are not saturated (at most \
                3 min of waiting, the run's line says) and boot the same guest afresh instead (unless the command says \
                --precopy-source restored): restored guests in long TCG pre-copies on busy cores are where QEMU 7.2 \
                left stale guest RAM. \
                RTT is the lab's link itself: a packet delay line between TUN devices holds every packet RTT/2 each way (no netem here), so every TCP stream between the hosts sees it; see testkit/README.

                Columns: median (min-max) over the repeats. total = migration start to the later of the source's end and \
                the destination holding the whole disk locally (agent out of the I/O path); cutover = start to the \
                destination's QEMU reporting the incoming migration completed (the source-side figures of the engine, \
                which come earlier while data still sits in socket buffers, are in the CSV); QEMU downtime = query-migrate's figure; guest pause = heartbeat gap \
                (20 ms period) across the switchover in host time; wire = bytes on the source's veth end, both \
                directions (frames with headers); guest MiB/s = the guest's own TPUT reports (one a second): the last \
                %d before the start, those during (from 1 s after the start to the end), those more than 1 s after the \
                end (%d awaited; idle: not measured, it writes nothing); on-demand pulls = chunks the destination pulled \
                because the guest read or partly wrote them before they arrived (engine's DestinationReport); pull wait \
                = round trip of each on-demand PULL, from the destination agent sending it to the chunk's data \
                arriving there (timed at the bench around the peer channel; per run median and max, then median \
                (min-max) over the runs; mirror and pre-copy have none); limit = (written area + smallest RAM \
                transfer in the scenario) / link rate + 2 RTT, the physical limit (unshaped: -); total/limit = \
                measured total / limit; verify = the guest's read-back of every block at the destination.

                guest pause - QEMU downtime = per run, how much longer the guest stood than QEMU paused it (the \
                storage handover; the 200 ms goal: at most 1 RTT, the column beside it). link fill = bytes the \
                source's end sent to the destination x 8 / (link rate x time), sampled every 250 ms and interpolated \
                at the boundaries (frames with headers; unshaped: -): overall from the start to the end, and in the \
                disk-only phases that last 1 s or more: the push before the memory migration starts, the pull after \
                the guest runs at the destination (to the disk complete there), together (each apart in the CSV).

                """.formatted(BenchRun.REPORTS_BEFORE, BenchRun.REPORTS_AFTER));
        md.append(table.markdown());
        for (LinkProfile l : links) {
            if (l.equals(LinkProfile.MBIT_100) && workloads.contains(BenchWorkload.HEAVY)) {
                md.append('\n').append(table.hybridRatios(BenchWorkload.HEAVY, l));
                md.append('\n').append(new HybridGoals(table, sizes).markdown(BenchWorkload.HEAVY, l));
            }
        }
        if (plots) {
            md.append("\nPlots:\n\n");
            for (ResultsTable.Scenario sc : table.scenarios()) {
                List<RunResult> first = new ArrayList<>();
                for (BenchStrategy s : BenchStrategy.values()) {
                    results.stream().filter(r -> r.ok() && r.strategy() == s && r.workload() == sc.workload()
                            && r.link().equals(sc.link())).findFirst().ifPresent(first::add);
                }
                String name = sc.fileName() + ".svg";
                Files.writeString(folder.resolve(name), TimelinePlot.svg(sc.workload().label() + " workload, "
                        + sc.link().label() + " (first repeat of each strategy)", first));
                md.append("- [").append(name).append("](").append(name).append(")\n");
            }
        }
        Files.writeString(folder.resolve("results.md"), md.toString());
        Files.writeString(folder.resolve("results.csv"), table.csv());
        return md.toString();
    }

    private static <T> List<T> pick(List<T> all, List<String> names, java.util.function.Function<T, String> label) {
        if (names == null) return all;
        List<T> out = new ArrayList<>();
        for (String name : names) {
            T found = all.stream().filter(t -> label.apply(t).equals(name.trim())).findFirst().orElse(null);
            if (found == null) return null;
            out.add(found);
        }
        return out;
    }
}
