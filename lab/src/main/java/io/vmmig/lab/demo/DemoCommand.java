package io.vmmig.lab.demo;

import io.vmmig.agent.Main;
import io.vmmig.agent.cli.ControlClient;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.MigrationProgress;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.Heartbeats;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.SerialConsole;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import io.vmmig.testkit.net.GuestLan;
import io.vmmig.testkit.net.NetworkLab;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmmig demo}: two agents (mutual TLS; in two network namespaces when run as root) and a live
 * migration of a writing guest from a source QEMU to a destination QEMU that the destination agent
 * starts, driven through the source agent's control socket as {@code vmmig migrate} does, with
 * progress, the final report, and the guest's own read-back of its disk at the destination.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Migrate a writing test guest between two local agents and QEMUs, showing progress and the report.")
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--strategy", defaultValue = "hybrid", description = "hybrid, precopy, postcopy, mirror or mirror-wb (default ${DEFAULT-VALUE})")
    String strategy;

    @Option(names = "--disk-mib", defaultValue = "256", description = "guest disk size in MiB (default ${DEFAULT-VALUE})")
    int diskMib;

    @Option(names = "--area-mib", defaultValue = "64", description = "MiB the guest prefills and verifies (default ${DEFAULT-VALUE})")
    int areaMib;

    @Option(names = "--hot-mib", defaultValue = "4", description = "hot set rewritten during the migration, MiB (default ${DEFAULT-VALUE})")
    int hotMib;

    @Option(names = "--rate", defaultValue = "2000", description = "guest writes per second of 4 KiB (default ${DEFAULT-VALUE})")
    int rate;

    @Option(names = "--chunk-kib", defaultValue = "256", description = "transfer chunk in KiB (default ${DEFAULT-VALUE})")
    int chunkKib;

    @Option(names = "--threshold", defaultValue = "2", description = "writes after which hybrid stops pushing a chunk (default ${DEFAULT-VALUE})")
    int threshold;

    @Option(names = "--loopback", description = "both agents on loopback even when network namespaces are possible")
    boolean loopback;

    @Option(names = "--agent-command", paramLabel = "VMMIG",
            description = "run both agents with this vmmig executable (e.g. the installed /usr/bin/vmmig) instead of this build's classes")
    Path agentCommand;

    @Option(names = "--announce-rounds", paramLabel = "N",
            description = "the destination agent's announce.rounds (default: the agent's, 5); 0: no announcement after the switchover")
    Integer announceRounds;

    @Option(names = "--switch-ageing", paramLabel = "SECONDS", defaultValue = "300",
            description = "in namespaces: seconds the guest LAN's bridges keep a MAC they no longer hear from (default ${DEFAULT-VALUE})")
    int switchAgeingSeconds;

    @Option(names = "--keep", description = "keep the work directory (images, logs, certificates) for inspection")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        if (agentCommand != null && !Files.isExecutable(agentCommand)) {
            System.err.println("vmmig demo: --agent-command " + agentCommand + " is not an executable file");
            return Main.EXIT_USAGE;
        }
        if (areaMib > diskMib || hotMib > areaMib) {
            System.err.println("vmmig demo: need hot-mib <= area-mib <= disk-mib, got " + hotMib + " / " + areaMib + " / " + diskMib);
            return Main.EXIT_USAGE;
        }
        Progress out = new Progress();
        Path dir = Files.createTempDirectory("vmmig-demo-");
        String lab = loopback ? "--loopback given" : NetworkLab.unavailableReason().orElse(null);
        out.say("vmmig demo: %s migration of a writing guest between two agents (work dir %s)", strategy, dir);
        if (agentCommand != null) out.say("agents run by %s", agentCommand);
        out.say("building or reusing the test guest (Debian kernel + busybox + integrity workload)");
        TestGuest guest;
        try {
            guest = TestGuest.get();
        } catch (RuntimeException e) {
            System.err.println("vmmig demo: cannot build the test guest: " + e.getMessage());
            return Main.EXIT_ENVIRONMENT;
        }
        int block = 4096;
        Workload w = Workload.defaults().withBlocks((long) areaMib * (1 << 20) / block)
                .withHotSet(0, (long) hotMib * (1 << 20) / block).withRate(rate);
        List<String> extraB = announceRounds == null ? List.of() : List.of("announce.rounds = " + announceRounds);
        try (DemoHosts hosts = DemoHosts.start(dir, lab == null, Optional.ofNullable(agentCommand),
                Duration.ofSeconds(switchAgeingSeconds), extraB)) {
            out.say(hosts.lab.isPresent()
                    ? "agents up with mutual TLS: host A %s and host B %s in two network namespaces joined by a veth pair"
                    : "agents up with mutual TLS: host A %s and host B %s on loopback (network namespaces: " + lab + ")",
                    hosts.hostA, hosts.hostB);
            hosts.lan.ifPresent(l -> {
                l.pinGuestNeighbour();
                out.say("guest LAN: tap %s on each host, a switch in a third namespace; the guest is %s there, probed from %s",
                        GuestLan.TAP, GuestLan.GUEST_ADDRESS, GuestLan.CLIENT_ADDRESS);
            });
            DiskImage srcDisk = DiskImage.create(dir.resolve("vm1.qcow2"), DiskImage.Format.QCOW2, (long) diskMib << 20);
            QemuProcess.Builder srcBuilder = QemuProcess.builder().name("vm1").binary(hosts.qemuA.toString()).memoryMb(256)
                    .guest(guest, w).disk(srcDisk);
            hosts.lan.ifPresent(l -> srcBuilder.nic(l.nic()));
            try (QemuProcess src = srcBuilder.start();
                 OutsideProbe probe = OutsideProbe.start(hosts.lan, src.console(), out)) {
                out.say("source QEMU up on host A (%s); guest prefilling %d MiB, then rewriting a %d MiB hot set at %d writes/s",
                        src.accelerator(), areaMib, hotMib, rate);
                src.console().awaitLine(Pattern.compile("^PREFILL DONE"), Duration.ofMinutes(5));
                out.say("prefill done; the guest keeps writing. Now, as `vmmig migrate %s %s --strategy %s`:", src.qmpSocket(),
                        hosts.destination(), strategy);
                SerialConsole dstConsole = src.console().successor("vm1-dst", dir.resolve("dst-console.log"));
                ControlEvent end = migrate(hosts, src.qmpSocket(), out);
                if (!(end instanceof ControlEvent.Report report)) {
                    System.err.println("vmmig demo: migration failed: " + ((ControlEvent.Failure) end).message());
                    return Main.EXIT_FAILED;
                }
                System.out.println();
                System.out.print(report.summary());
                var gap = Heartbeats.of(src.console().lines(), dstConsole.lines()).consoleChanges().stream().findFirst();
                gap.ifPresent(g -> out.say("guest-visible pause (heartbeat gap across the switchover): %d ms host time, %d ms guest clock",
                        g.host().toMillis(), g.guest().toMillis()));
                probe.report(report, gap.map(g -> g.host().toMillis()).orElse(-1L));
                String first = verify(dstConsole);
                out.say("guest at the destination reads back its disk: %s", first);
                boolean gone = src.awaitExit(Duration.ofSeconds(30)).isPresent();
                out.say("source QEMU %s", gone ? "has exited (the agent told it to quit): no residual dependency" : "still running!");
                String second = verify(dstConsole);
                out.say("guest verifies again with the source gone: %s", second);
                try (QmpClient dst = QmpClient.connect(hosts.stateB.resolve("m").resolve(report.id()).resolve("qmp.sock"))) {
                    dst.call(new Quit());
                }
                dstConsole.close();
                if (!first.startsWith("VERIFY OK") || !second.startsWith("VERIFY OK") || !gone) {
                    System.err.println("vmmig demo: the guest found its disk damaged, or the source did not go away");
                    return Main.EXIT_FAILED;
                }
                return 0;
            }
        } catch (Exception e) {
            System.err.println("vmmig demo: " + e.getMessage());
            return Main.EXIT_FAILED;
        } finally {
            if (!keep) deleteTree(dir);
            else out.say("work directory kept: %s", dir);
        }
    }

    private ControlEvent migrate(DemoHosts hosts, Path qmp, Progress out) throws Exception {
        ControlRequest request = ControlRequest.migrate(qmp.toString(), hosts.destination(), strategy, null, threshold,
                chunkKib * 1024, null);
        try (ControlClient client = ControlClient.connect(hosts.controlA)) {
            client.send(request);
            while (true) {
                ControlEvent e = client.next(null).event();
                if (e instanceof ControlEvent.Accepted a) out.say("migration %s accepted by agent A", a.id());
                else if (e instanceof ControlEvent.PhaseChange p) out.say("phase %s", p.phase());
                else if (e instanceof ControlEvent.Progress p) out.say("  %s", describe(p.progress()));
                if (e instanceof ControlEvent.Report || e instanceof ControlEvent.Failure) return e;
            }
        }
    }

    private static String describe(MigrationProgress p) {
        String ram = p.ramTotal() > 0 ? String.format("  RAM %3.0f%%", 100.0 * (p.ramTotal() - p.ramRemaining()) / p.ramTotal()) : "";
        return String.format("disk pushed %.1f MiB, pulled %.1f MiB, %.1f MiB to go%s  %.1f MiB/s%s",
                p.pushedBytes() / 1048576.0, p.pulledBytes() / 1048576.0, p.remainingBytes() / 1048576.0, ram,
                p.bytesPerSecond() / 1048576.0, p.etaSeconds() >= 0 ? "  ETA " + p.etaSeconds() + " s" : "");
    }

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException e) {
            System.err.println("vmmig demo: could not remove " + dir + ": " + e.getMessage());
        }
    }

    private static String verify(SerialConsole console) {
        int mark = console.lineCount();
        console.send("verify");
        return console.awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofMinutes(2), mark).text();
    }
}
