package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.GuestLocation;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.qmp.command.QmpCommands.Quit;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import io.vmmig.testkit.pki.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * QEMU's memory stream and the mirror's NBD stream between two real agents on two lab hosts (network
 * namespaces joined by a veth pair), with a guest that holds a marker text in RAM and writes it into every
 * block: a {@code tcpdump} on host A's veth end during the migration, each TCP flow reassembled and searched.
 * With the agents' TLS (QEMU's {@code tls-creds-x509} from their PKI) no flow carries the marker; the same
 * run with {@code tls.qemu-streams = false} shows it (the check can fail); a destination whose certificate
 * names another host fails the migration before the switchover, the guest running on at the source.
 */
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class QemuStreamsTlsIT {
    /** 25 characters, fresh per run: found nowhere but where this guest put it. */
    static final String MARKER = "VMMIG-MARKER-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(6));
    static final int AREA_MIB = 16;

    @TempDir
    static Path dir;
    static NetworkLab lab;
    static TestPki pki;
    static String qemuA;
    static AgentHosts tls;
    static AgentHosts plain;

    @BeforeAll
    static void lab() throws Exception {
        String why = NetworkLab.unavailableReason().orElse(null);
        assumeTrue(why == null, why);
        lab = NetworkLab.create();
        pki = AgentHosts.labPki(dir);
        qemuA = qemuOn(lab, LabHost.A, dir).toString();
        tls = AgentHosts.startInLab(dir.resolve("tls"), lab, pki, 7410, List.of(), List.of());
        plain = AgentHosts.startInLab(dir.resolve("plain"), lab, pki, 7420, List.of("tls.qemu-streams = false"),
                List.of("tls.qemu-streams = false"));
    }

    @AfterAll
    static void stop() {
        if (plain != null) plain.close();
        if (tls != null) tls.close();
        if (lab != null) lab.close();
    }

    /** A script that runs QEMU on lab host {@code host} (the source QEMU must dial from there). */
    static Path qemuOn(NetworkLab lab, LabHost host, Path dir) throws Exception {
        Path script = dir.resolve("qemu-on-" + host.name().toLowerCase(Locale.ROOT));
        Files.writeString(script, "#!/bin/sh\nexec " + String.join(" ", lab.prefix(host)) + " qemu-system-x86_64 \"$@\"\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    static TestVm boot(String name) throws Exception {
        return TestVm.boot(dir, name, TestVm.workload(AREA_MIB, 1000).withMarker(MARKER), qemuA);
    }

    /** One migration by the CLI, captured on host A's veth end and metered. */
    record Run(List<ControlEvent> events, PacketCapture.Summary capture, long drops, Map<String, Double> cpu) {
        ControlEvent last() {
            return events.get(events.size() - 1);
        }

        MigrationReport report() throws Exception {
            return ControlCodec.mapper().treeToValue(((ControlEvent.Report) last()).report(), MigrationReport.class);
        }

        JsonNode qemuStreams() {
            return ((ControlEvent.Report) last()).report().get("qemuStreams");
        }
    }

    static Run migrate(Path dir, LabHost captureOn, AgentHosts hosts, TestVm vm, String strategy) throws Exception {
        return migrate(lab, dir, captureOn, hosts, vm, strategy);
    }

    /** Same on {@code lab}; no capture when {@code captureOn} is null (the cost benchmark). */
    static Run migrate(NetworkLab lab, Path dir, LabHost captureOn, AgentHosts hosts, TestVm vm, String strategy)
            throws Exception {
        Path pcap = dir.resolve(vm.name + ".pcap");
        try (PacketCapture capture = captureOn == null ? null : PacketCapture.start(lab, captureOn, pcap);
             CpuMeter cpu = CpuMeter.start(Map.of("agent-a", hosts.a.pid(), "agent-b", hosts.b.pid(), "qemu-src", vm.qemu.pid()),
                     Map.of("qemu-dst", hosts.dir.resolve("b/state/m").toString()))) {
            Cli.Result r = Cli.run(hosts.a.controlSocket, List.of("migrate", vm.qmpSocket().toString(), hosts.destB(),
                    "--strategy", strategy, "--json"));
            Map<String, Double> seconds = cpu.stop();
            long drops = capture == null ? 0 : capture.stop();
            List<ControlEvent> events = r.events();
            ControlEvent last = events.get(events.size() - 1);
            assertEquals(last instanceof ControlEvent.Failure f ? f.kind().exitCode : 0, r.exitCode(), "exit code for " + last
                    + "; stderr: " + r.stderr());
            if (capture == null) return new Run(events, null, 0, seconds);
            PacketCapture.Summary found = PacketCapture.search(pcap, MARKER);
            System.out.printf("%s (%s): %s%ncapture on %s (%d dropped), copies of %s per flow:%n%sCPU s: %s%n", vm.name, strategy,
                    last instanceof ControlEvent.Report rep ? rep.summary() : last, captureOn, drops, MARKER, found, seconds);
            return new Run(events, found, drops, seconds);
        } finally {
            Files.deleteIfExists(pcap);
        }
    }

    /** The migration completed, the source QEMU quit, the guest runs at the destination and reads back its disk. */
    static void assertLanded(AgentHosts hosts, TestVm vm, Run run) throws Exception {
        assertInstanceOf(ControlEvent.Report.class, run.last(), () -> vm.name + " failed: " + run.last() + "\nagent a:\n"
                + hosts.a.logTail() + "\nagent b:\n" + hosts.b.logTail());
        String id = ((ControlEvent.Accepted) run.events().get(0)).id();
        assertTrue(vm.qemu.awaitExit(Duration.ofSeconds(60)).isPresent(), "source QEMU quit after the migration");
        try (QmpClient dst = QmpClient.connect(hosts.dir.resolve("b/state/m").resolve(id).resolve("qmp.sock"))) {
            assertEquals("running", dst.call(new QueryStatus()).status());
            String verdict = vm.verifyAtDestination();
            assertTrue(verdict.startsWith("VERIFY OK"), vm.name + " at the destination: " + verdict);
            assertFalse(hasTlsObject(dst), "the destination QEMU's credentials object is gone after the migration");
            dst.call(new Quit());
        }
    }

    static boolean hasTlsObject(QmpClient qmp) {
        JsonNode objects = QmpClient.join(qmp.execute("qom-list", JsonNodeFactory.instance.objectNode().put("path", "/objects")));
        for (JsonNode o : objects) if (o.get("name").asText().startsWith("vmmig-tls-")) return true;
        return false;
    }

    static String migrateTlsCreds(QmpClient qmp) {
        return QmpClient.join(qmp.execute("query-migrate-parameters", null)).path("tls-creds").asText();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hybrid", "mirror"})
    void withTheAgentsTlsNoStreamCarriesTheGuestsMarker(String strategy) throws Exception {
        try (TestVm vm = boot("tls-" + strategy)) {
            Run run = migrate(dir, LabHost.A, tls, vm, strategy);
            assertLanded(tls, vm, run);
            MigrationReport report = run.report();
            assertEquals("tls", run.qemuStreams().get("memory").asText(), run.qemuStreams().toString());
            assertEquals(strategy.equals("mirror") ? "tls" : "none", run.qemuStreams().get("nbd").asText());
            assertEquals(LabHost.B.address(), run.qemuStreams().get("tlsHostname").asText());
            assertTrue(((ControlEvent.Report) run.last()).summary().contains("QEMU streams: memory TLS"), report.summary());
            assertEquals(0, run.drops(), "tcpdump saw every packet");
            long toB = run.capture().bytesTo(LabHost.B.address());
            assertTrue(toB >= report.ramBytes() + (strategy.equals("mirror") ? AREA_MIB << 20 : 0),
                    "the capture holds the streams: " + toB + " bytes to B, RAM " + report.ramBytes() + "\n" + run.capture());
            assertEquals(0, run.capture().matches(), "no flow carries '" + MARKER + "' in clear:\n" + run.capture());
        }
    }

    /** The control: the same run with QEMU's streams in plain TCP shows the marker, so the search can fail. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hybrid", "mirror"})
    void withQemuStreamsInPlainTcpTheCaptureShowsTheMarker(String strategy) throws Exception {
        try (TestVm vm = boot("plain-" + strategy)) {
            Run run = migrate(dir, LabHost.A, plain, vm, strategy);
            assertLanded(plain, vm, run);
            assertEquals("plain", run.qemuStreams().get("memory").asText(), run.qemuStreams().toString());
            assertEquals(0, run.drops(), "tcpdump saw every packet");
            long agents = 0, qemu = 0, mostInOneFlow = 0;
            for (var e : run.capture().flows().entrySet()) {
                boolean agentFlow = e.getKey().dstPort() == plain.b.port || e.getKey().srcPort() == plain.b.port;
                if (agentFlow) agents += e.getValue().matches();
                else qemu += e.getValue().matches();
                if (!agentFlow) mostInOneFlow = Math.max(mostInOneFlow, e.getValue().matches());
            }
            assertEquals(0, agents, "the agents' own connections are TLS either way:\n" + run.capture());
            assertTrue(qemu > 0, "QEMU's plain memory stream carries the guest's RAM, marker included:\n" + run.capture());
            if (strategy.equals("mirror")) {
                assertTrue(mostInOneFlow >= AREA_MIB * 256L, "the plain NBD stream carries the marker of every block it copied:\n"
                        + run.capture());
            }
        }
    }

    /** A destination whose QEMU would listen in plain TCP, for a source configured for TLS: refused before QEMU sends a byte. */
    @Test
    void agentsThatDisagreeOnQemuStreamsStopBeforeQemuSendsAnything() throws Exception {
        Path pairDir = dir.resolve("disagree");
        try (AgentHosts pair = AgentHosts.startInLab(pairDir, lab, pki, 7440, List.of(), List.of("tls.qemu-streams = false"));
             TestVm vm = boot("disagree")) {
            TestVm.Snapshot before = vm.snapshot();
            Run run = migrate(pairDir, LabHost.A, pair, vm, "hybrid");
            ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, run.last(), () -> "expected a failure: " + run.last());
            assertEquals(ErrorKind.BAD_REQUEST, f.kind(), f.message());
            assertTrue(f.message().contains("tls.qemu-streams") && f.message().contains("keeps running at the source"), f.message());
            for (PacketCapture.Flow flow : run.capture().flows().keySet())
                assertTrue(flow.dstPort() == pair.b.port || flow.srcPort() == pair.b.port, "only the agents talked: " + flow);
            assertEquals(before, vm.snapshot(), "the source's block layer is as it was");
            assertTrue(vm.verifyAtSource().startsWith("VERIFY OK"));
        }
    }

    /**
     * The destination agent's certificate files replaced (after it started: its own TLS still has the
     * right one) by a certificate for another host: QEMU's TLS to it checks the name the source dialled and
     * refuses it; the migration fails before the switchover, the guest runs on at the source, intact, and
     * the source QEMU keeps no TLS setting or object of vmmig.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"hybrid", "mirror"})
    void aDestinationCertificateForAnotherHostFailsBeforeTheSwitchover(String strategy) throws Exception {
        Path pairDir = dir.resolve("wrong-" + strategy);
        Path files = Files.createDirectories(pairDir.resolve("b-pki"));
        Files.copy(pki.cert("host-b"), files.resolve("cert.pem"));
        Files.copy(pki.key("host-b"), files.resolve("key.pem"));
        int port = strategy.equals("mirror") ? 7431 : 7430;
        AgentProcess a = AgentHosts.agent(pairDir, pki, "a", "host-a", LabHost.A.address(), port, lab.prefix(LabHost.A), List.of());
        AgentProcess b;
        try {
            b = AgentHosts.agent(pairDir, null, "b", null, LabHost.B.address(), port, lab.prefix(LabHost.B),
                    List.of("tls.key = " + files.resolve("key.pem"), "tls.cert = " + files.resolve("cert.pem"),
                            "tls.ca = " + pki.cert("ca")));
        } catch (Exception e) {
            a.close();
            throw e;
        }
        try (AgentHosts wrong = AgentHosts.of(pairDir, pki, a, b, LabHost.B.address()); TestVm vm = boot("wrong-" + strategy)) {
            Files.copy(pki.cert("host-other"), files.resolve("cert.pem"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(pki.key("host-other"), files.resolve("key.pem"), StandardCopyOption.REPLACE_EXISTING);
            TestVm.Snapshot before = vm.snapshot();
            Run run = migrate(pairDir, LabHost.A, wrong, vm, strategy);
            ControlEvent.Failure f = assertInstanceOf(ControlEvent.Failure.class, run.last(), () -> "expected a failure: "
                    + run.last() + "\nagent a:\n" + a.logTail() + "\nagent b:\n" + b.logTail());
            // before the switchover: no phase event of the run is one where the guest already ran at the destination
            for (ControlEvent e : run.events()) {
                if (e instanceof ControlEvent.PhaseChange p) assertFalse(p.phase().switchedOver(), "switched over: " + run.events());
                if (e instanceof ControlEvent.Progress p) assertFalse(p.phase().switchedOver(), "switched over: " + run.events());
            }
            assertEquals(GuestLocation.Host.SOURCE, f.guest() == null ? null : f.guest().host(), "where the guest runs: " + f);
            assertEquals(GuestLocation.State.RUNNING, f.guest().state(), f.toString());
            // QEMU's own reason, relayed: its TLS refused the certificate because of the host name it names
            String m = f.message().toLowerCase(Locale.ROOT);
            assertTrue(m.contains("certificate") && (m.contains("hostname") || m.contains("host name")
                    || m.contains(LabHost.B.address())), f.message());
            assertTrue(vm.qemu.isAlive(), "the source QEMU still runs");
            TestVm.Snapshot after = vm.snapshot();
            assertEquals("running", after.status());
            assertEquals(before, after, "the source's block layer is as it was");
            try (QmpClient src = QmpClient.connect(vm.qmpSocket())) {
                assertEquals("", migrateTlsCreds(src), "tls-creds reset");
                assertFalse(hasTlsObject(src), "the source's credentials object removed");
            }
            assertTrue(vm.verifyAtSource().startsWith("VERIFY OK"));
        }
    }
}
