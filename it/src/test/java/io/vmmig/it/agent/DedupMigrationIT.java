package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.it.migration.Poll;
import io.vmmig.it.migration.QemuImg;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Neighbourhood dedup (seed 003) between two real agents: the destination's neighbour directory holds a
 * copy of the writing guest's disk taken after its prefill (another VM of the same kind); the
 * destination indexes it, the source fingerprints what it sends (pushes; after the hand-over, the
 * remaining chunks), the destination copies every verified match from the neighbour, and the guest
 * then reads back its whole disk at the destination: VERIFY OK covers the deduplicated blocks too.
 */
class DedupMigrationIT {
    @org.junit.jupiter.api.io.TempDir
    static Path dir;
    static AgentHosts hosts;
    static Path neighbours;

    @BeforeAll
    static void agents() throws Exception {
        TestPki pki = AgentHosts.pki(dir);
        neighbours = Files.createDirectories(dir.resolve("neighbours"));
        // the background pull held to 2 MiB/s, as a WAN link would: over loopback it would otherwise take most remaining
        // chunks before their fingerprints (sent right after the hand-over) are looked at
        hosts = AgentHosts.start(dir, pki, List.of(), List.of("dedup.neighbour-dirs = " + neighbours, "dedup.rescan = 1",
                "dedup.settle = 2", "pull-bandwidth = 2097152"));
    }

    @AfterAll
    static void stop() {
        if (hosts != null) hosts.close();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hybrid", "postcopy"})
    void matchingChunksAreCopiedAtTheDestinationAndTheGuestVerifies(String strategy) throws Exception {
        String name = "vm-dedup-" + strategy;
        try (TestVm vm = TestVm.boot(dir, name, 16, 1000)) {
            // the neighbour: the guest's disk now (prefilled; only its 4 MiB hot set changes from here on)
            // (paused meanwhile: stopping flushes QEMU's qcow2 caches into the file, so the copy holds what the guest wrote)
            Path copy = neighbours.resolve(name + ".raw");
            try (QmpClient q = QmpClient.connect(vm.qmpSocket())) {
                q.call(new QmpCommands.Stop());
                try {
                    QemuImg.run(List.of("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw",
                            dir.resolve(name).resolve(name + ".qcow2").toString(), copy.toString()));
                } finally {
                    q.call(new QmpCommands.Cont());
                }
            }
            Files.setLastModifiedTime(copy, FileTime.fromMillis(System.currentTimeMillis() - 60_000));
            Poll.until("the destination agent indexed " + copy, Duration.ofSeconds(60),
                    () -> logOf(hosts.b).contains("fingerprint index: " + copy + " indexed"));

            Cli.Result r = Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(),
                    "--strategy", strategy, "--json"));
            List<ControlEvent> events = r.events();
            ControlEvent last = events.get(events.size() - 1);
            assertInstanceOf(ControlEvent.Report.class, last, () -> "failed: " + last + "\nagent a:\n" + hosts.a.logTail()
                    + "\nagent b:\n" + hosts.b.logTail());
            assertEquals(0, r.exitCode(), r.stderr());
            ControlEvent.Report report = (ControlEvent.Report) last;
            MigrationReport engine = ControlCodec.mapper().treeToValue(report.report(), MigrationReport.class);
            System.out.print(report.summary());
            logOf(hosts.b).lines().filter(l -> l.contains("dedup") || l.contains("fingerprint")).forEach(System.out::println);
            String id = ((ControlEvent.Accepted) events.get(0)).id();
            assertTrue(vm.qemu.awaitExit(Duration.ofSeconds(30)).isPresent(), "source QEMU quit after the migration");
            try (QmpClient dst = QmpClient.connect(dir.resolve("b/state/m").resolve(id).resolve("qmp.sock"))) {
                String verdict = vm.verifyAtDestination();
                assertTrue(verdict.startsWith("VERIFY OK"), name + " at the destination: " + verdict);
                dst.call(new Quit());
            }
            // 12 MiB of the 16 MiB written area is as in the neighbour (the hot set may have changed). Post-copy: the
            // background pull starts with the hand-over, as the fingerprints of the remaining chunks do, and takes a
            // share of them first (a few chunks at 2 MiB/s)
            long local = engine.destination().dedupBytes();
            long least = strategy.equals("hybrid") ? 8L << 20 : 4L << 20;
            assertTrue(local >= least, "at least " + (least >> 20) + " MiB copied from the neighbour: " + report.summary());
            assertTrue(engine.source().dedupBytes() > 0 && engine.source().fingerprintedChunks() > 0, report.summary());
            assertEquals(0, engine.destination().dedupRejected(), "no candidate had other bytes: " + report.summary());
            assertTrue(report.summary().contains("dedup "), report.summary());
            long crossed = engine.source().pushedBytes() + engine.destination().pulledBytes();
            assertTrue(crossed + local >= 16L << 20, "the written area arrived, crossed or copied: " + report.summary());
            // without dedup at least the 16 MiB written area crosses (AgentMigrationIT); here only what changed since the copy
            assertTrue(crossed < 16L << 20, "the copied bytes did not cross as well: " + report.summary());
        }
    }

    private static String logOf(AgentProcess p) {
        try {
            return Files.readString(p.log);
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
