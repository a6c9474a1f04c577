package io.vmmig.agent.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationProgress;
import io.vmmig.agent.control.MigrationStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** {@code vmmig migrate|status|list|cancel} through Main's command line against a scripted agent. */
class ClientCommandsTest {
    private static final long MIB = 1 << 20;
    private final ScriptedAgent agent = new ScriptedAgent();
    private final CliHarness cli = new CliHarness();

    ClientCommandsTest() throws IOException {
    }

    @AfterEach
    void stop() throws IOException {
        agent.close();
        assertEquals(List.of(), agent.errors(), "scripted agent failures");
    }

    /** A complete hybrid migration's events, as the agent's JSON lines (with a field this client does not know). */
    static final List<String> SUCCESS = List.of(
            "{\"event\":\"accepted\",\"id\":\"m-7\",\"vm\":\"vm1\",\"dest\":\"hostb:7410\",\"strategy\":\"hybrid\"}",
            "{\"event\":\"phase\",\"id\":\"m-7\",\"phase\":\"PUSHING\",\"elapsedMillis\":120}",
            progress(MigrationPhase.PUSHING, 600, 64, 0),
            "{\"event\":\"phase\",\"id\":\"m-7\",\"phase\":\"MEMORY\",\"elapsedMillis\":900}",
            progress(MigrationPhase.MEMORY, 1100, 128, 0),
            "{\"event\":\"phase\",\"id\":\"m-7\",\"phase\":\"CUTOVER\",\"elapsedMillis\":1500}",
            "{\"event\":\"phase\",\"id\":\"m-7\",\"phase\":\"PULLING\",\"elapsedMillis\":1530}",
            progress(MigrationPhase.PULLING, 2000, 128, 32),
            "{\"event\":\"phase\",\"id\":\"m-7\",\"phase\":\"COMPLETED\",\"elapsedMillis\":2600,\"future\":true}",
            "{\"event\":\"report\",\"id\":\"m-7\",\"report\":{\"downtimeMillis\":31,\"pushedBytes\":134217728},"
                    + "\"summary\":\"hybrid: 256 MiB in 2.6 s, downtime 31 ms\\n\"}");

    static String progress(MigrationPhase phase, long elapsed, long pushedMib, long pulledMib) {
        return ControlCodec.encode(new ControlEvent.Progress("m-7", phase, new MigrationProgress(elapsed, 256 * MIB,
                pushedMib * MIB, (256 - pushedMib - pulledMib) * MIB, pulledMib * MIB,
                phase == MigrationPhase.PUSHING ? 0 : 100 * MIB, phase == MigrationPhase.PUSHING ? 0 : 300 * MIB, 400 * MIB,
                60 * MIB, 3)));
    }

    private void scriptSuccess() {
        agent.on(ControlRequest.Op.MIGRATE, (r, c) -> {
            for (String line : SUCCESS) {
                byte[] b = (line + "\n").getBytes(StandardCharsets.UTF_8);
                c.writeSplit(line + "\n", b.length / 3, b.length / 2);
            }
        });
    }

    @Test
    void migrateShowsProgressAndTheSummary() throws Exception {
        scriptSuccess();
        int exit = cli.run("migrate", "vm1", "hostb:7410", "--socket", agent.socket().toString(),
                "--strategy", "HYBRID", "--bandwidth", "100Mbit", "--threshold", "3", "--chunk-size", "1M", "--target", "/srv/vm1.qcow2");
        assertEquals(0, exit, cli.err.text());
        assertEquals(ControlRequest.migrate("vm1", "hostb:7410", "hybrid", 12_500_000L, 3, 1 << 20, "/srv/vm1.qcow2"),
                agent.nextRequest());
        String out = cli.out.text();
        assertTrue(out.startsWith("migration m-7: vm1 -> hostb:7410 (hybrid)\n[   0.1s] phase pushing"), out);
        assertTrue(out.contains("[   0.6s] pushing   disk 64.0 MiB pushed, 192 MiB left | 60.0 MiB/s | ETA 0:03\n"), out);
        assertTrue(out.contains("[   1.1s] memory    disk 128 MiB pushed, 128 MiB left | RAM 25% | 60.0 MiB/s | ETA 0:03\n"), out);
        assertTrue(out.contains("[   1.5s] phase pulling"), out);
        assertTrue(out.contains("[   2.0s] pulling   disk 32.0 MiB pulled, 96.0 MiB left"), out);
        assertTrue(out.endsWith("phase completed: done\nhybrid: 256 MiB in 2.6 s, downtime 31 ms\n"), out);
        assertEquals("", cli.err.text());
    }

    @Test
    void memoryOptionsGoToTheAgentAsAsked() throws Exception {
        scriptSuccess();
        int exit = cli.run("migrate", "vm1", "hostb", "--socket", agent.socket().toString(),
                "--memory-bandwidth", "1Gbit", "--downtime-limit", "150", "--auto-converge");
        assertEquals(0, exit, cli.err.text());
        assertEquals(ControlRequest.migrate("vm1", "hostb", "hybrid", null, null, null, null)
                .withMemory(new ControlRequest.Memory(125_000_000L, 150L, true)), agent.nextRequest());
    }

    @Test
    void memoryOptionsUnlimitedAndOff() throws Exception {
        scriptSuccess();
        assertEquals(0, cli.run("migrate", "vm1", "hostb", "--socket", agent.socket().toString(),
                "--memory-bandwidth", "unlimited", "--no-auto-converge"), cli.err.text());
        ControlRequest r = agent.nextRequest();
        assertEquals(new ControlRequest.Memory(io.vmmig.strategy.qemu.MemorySettings.UNLIMITED, null, false), r.memory());
    }

    @Test
    void noMemoryOptionsLeaveItToTheAgent() throws Exception {
        scriptSuccess();
        assertEquals(0, cli.run("migrate", "vm1", "hostb", "--socket", agent.socket().toString()), cli.err.text());
        assertEquals(null, agent.nextRequest().memory(), "nothing asked: the request carries no memory member");
    }

    @Test
    void jsonPassesEveryLineThroughByteForByte() throws Exception {
        scriptSuccess();
        int exit = cli.run("migrate", "vm1", "hostb", "--json", "--socket", agent.socket().toString());
        assertEquals(0, exit, cli.err.text());
        assertArrayEquals((String.join("\n", SUCCESS) + "\n").getBytes(StandardCharsets.UTF_8), cli.out.bytes());
        assertEquals("", cli.err.text());
        for (String line : cli.out.text().split("\n")) ControlCodec.decodeEvent(line); // each parses on its own
    }

    @ParameterizedTest
    @EnumSource(ErrorKind.class)
    void everyFailureKindIsItsExitCode(ErrorKind kind) throws Exception {
        agent.on(ControlRequest.Op.MIGRATE, (r, c) -> c.send(new ControlEvent.Accepted("m-1", "vm1", "b", "hybrid"),
                new ControlEvent.Failure("m-1", kind, "it went wrong: " + kind)));
        int exit = cli.run("migrate", "vm1", "b", "--socket", agent.socket().toString());
        assertEquals(kind.exitCode, exit);
        assertEquals("vmmig migrate: it went wrong: " + kind + "\n", cli.err.text());
    }

    @Test
    void jsonFailureStillSetsTheExitCode() throws Exception {
        String failure = "{\"event\":\"error\",\"kind\":\"UNAUTHORIZED\",\"message\":\"certificate of hostb not from the CA\"}";
        agent.on(ControlRequest.Op.MIGRATE, (r, c) -> c.write(failure + "\n"));
        assertEquals(5, cli.run("migrate", "vm1", "hostb", "--json", "--socket", agent.socket().toString()));
        assertEquals(failure + "\n", cli.out.text());
        assertEquals("vmmig migrate: certificate of hostb not from the CA\n", cli.err.text());
    }

    @Test
    void agentGoingAwayMidStreamIsUnreachable() throws Exception {
        agent.on(ControlRequest.Op.MIGRATE, (r, c) -> {
            c.send(new ControlEvent.Accepted("m-3", "vm1", "b", "hybrid"), new ControlEvent.PhaseChange("m-3", MigrationPhase.PUSHING, 10));
            c.close();
        });
        assertEquals(ErrorKind.UNREACHABLE.exitCode, cli.run("migrate", "vm1", "b", "--socket", agent.socket().toString()));
        String err = cli.err.text();
        assertTrue(err.startsWith("vmmig migrate: the vmmig agent went away") && err.contains("vmmig status m-3"), err);
    }

    @Test
    void noAgent() {
        Path socket = agent.socket().resolveSibling("absent.sock");
        for (String command : List.of("migrate vm1 b", "status m-1", "list", "cancel m-1")) {
            CliHarness h = new CliHarness();
            String[] args = (command + " --socket " + socket).split(" ");
            assertEquals(ErrorKind.UNREACHABLE.exitCode, h.run(args), command);
            assertEquals("vmmig " + args[0] + ": no vmmig agent at " + socket + ": is `vmmig agent` running?\n", h.err.text());
            assertEquals("", h.out.text());
        }
    }

    @Test
    void socketFromTheEnvironment() throws Exception {
        agent.on(ControlRequest.Op.LIST, (r, c) -> c.send(new ControlEvent.Listing(List.of())));
        CliHarness h = new CliHarness(false, Map.of("VMMIG_SOCKET", agent.socket().toString()));
        assertEquals(0, h.run("list"));
        assertEquals("no migrations\n", h.out.text());
    }

    static MigrationStatus status(String id, MigrationPhase phase) {
        return new MigrationStatus(id, "source", "vm1", "hostb:7410", "hybrid", phase, "2026-11-22T06:00:00Z",
                new MigrationProgress(5000, 256 * MIB, 64 * MIB, 192 * MIB, 0, 0, 0, 0, 10 * MIB, 19), null);
    }

    @Test
    void statusOfOneMigration() throws Exception {
        agent.on(ControlRequest.Op.STATUS, (r, c) -> c.send(new ControlEvent.Status(status(r.id(), MigrationPhase.PUSHING))));
        assertEquals(0, cli.run("status", "m-7", "--socket", agent.socket().toString()));
        assertEquals(ControlRequest.status("m-7"), agent.nextRequest());
        assertEquals(MigrationTable.detail(status("m-7", MigrationPhase.PUSHING)), cli.out.text());
        assertTrue(cli.out.text().startsWith("migration: m-7\nrole:      source\n"), cli.out.text());
    }

    @Test
    void statusWithoutIdLists() throws Exception {
        List<MigrationStatus> all = List.of(status("m-1", MigrationPhase.COMPLETED), status("m-2", MigrationPhase.MEMORY));
        agent.on(ControlRequest.Op.LIST, (r, c) -> c.send(new ControlEvent.Listing(all)));
        assertEquals(0, cli.run("status", "--socket", agent.socket().toString()));
        assertEquals(ControlRequest.list(), agent.nextRequest());
        assertEquals(MigrationTable.table(all), cli.out.text());
        CliHarness json = new CliHarness();
        assertEquals(0, json.run("list", "--json", "--socket", agent.socket().toString()));
        assertEquals(ControlCodec.encode(new ControlEvent.Listing(all)) + "\n", json.out.text());
    }

    @Test
    void unknownMigration() throws Exception {
        agent.on(ControlRequest.Op.STATUS, (r, c) -> c.send(new ControlEvent.Failure(r.id(), ErrorKind.NOT_FOUND, "no migration " + r.id())));
        assertEquals(6, cli.run("status", "m-404", "--socket", agent.socket().toString()));
        assertEquals("vmmig status: no migration m-404\n", cli.err.text());
        assertEquals("", cli.out.text());
    }

    @Test
    void cancel() throws Exception {
        agent.on(ControlRequest.Op.CANCEL, (r, c) -> {
            if (r.id().equals("m-1")) c.send(new ControlEvent.Cancelling("m-1"));
            else c.send(new ControlEvent.Failure(r.id(), ErrorKind.BAD_REQUEST, "migration " + r.id() + " already switched over"));
        });
        assertEquals(0, cli.run("cancel", "m-1", "--socket", agent.socket().toString()));
        assertEquals(ControlRequest.cancel("m-1"), agent.nextRequest());
        assertTrue(cli.out.text().startsWith("cancelling migration m-1"), cli.out.text());
        CliHarness late = new CliHarness();
        assertEquals(2, late.run("cancel", "m-2", "--socket", agent.socket().toString(), "--json"));
        assertEquals("vmmig cancel: migration m-2 already switched over\n", late.err.text());
        assertTrue(late.out.text().startsWith("{\"event\":\"error\""), late.out.text());
    }

    @Test
    void anAnswerOfTheWrongKind() throws Exception {
        agent.on(ControlRequest.Op.CANCEL, (r, c) -> c.send(new ControlEvent.Listing(List.of())));
        assertEquals(ErrorKind.UNREACHABLE.exitCode, cli.run("cancel", "m-1", "--socket", agent.socket().toString()));
        assertTrue(cli.err.text().contains("Cancelling"), cli.err.text());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--bandwidth|fast|Invalid value for option '--bandwidth': 'fast' is not a rate",
            "--bandwidth|0|Invalid value for option '--bandwidth': '0' is not more than zero",
            "--chunk-size|100K|Invalid value for option '--chunk-size': '100K' (102400 bytes) is not a power of two",
            "--chunk-size|32M|Invalid value for option '--chunk-size': '32M'",
            "--strategy|rsync|Invalid value for option '--strategy': unknown strategy 'rsync'",
            "--threshold|0|Invalid value for option '--threshold': '0' is not a write count",
            "--downtime-limit|0|Invalid value for option '--downtime-limit': '0' is not a number of milliseconds from 1 to 2000000",
            "--downtime-limit|2000001|Invalid value for option '--downtime-limit': '2000001' is not a number of milliseconds",
            "--memory-bandwidth|fast|Invalid value for option '--memory-bandwidth': 'fast' is not a rate",
            "--threshold|many|Invalid value for option '--threshold': 'many' is not an int"})
    void badOptionValuesAreUsageErrors(String option, String value, String message) {
        assertEquals(2, cli.run("migrate", "vm1", "b", "--socket", agent.socket().toString(), option, value));
        assertTrue(cli.err.text().startsWith(message), cli.err.text());
        assertTrue(cli.err.text().contains("Usage: vmmig migrate"), cli.err.text());
    }

    @Test
    void missingArgumentsAreUsageErrors() {
        assertEquals(2, cli.run("migrate", "vm1"));
        assertTrue(cli.err.text().contains("Missing required parameter: 'DEST'"), cli.err.text());
        assertEquals(2, new CliHarness().run("cancel"));
    }

    @Test
    void helpListsTheExitCodes() {
        assertEquals(0, cli.run("--help"));
        for (ErrorKind k : ErrorKind.values()) {
            assertTrue(cli.out.text().contains("\n  " + k.exitCode + "   "), "exit code " + k.exitCode + " of " + k + ":\n" + cli.out.text());
        }
    }

    @Test
    void noCommandPrintsTheUsageAndFails() {
        assertEquals(2, cli.run());
        assertTrue(cli.err.text().contains("Usage: vmmig"), cli.err.text());
        assertEquals("", cli.out.text(), "the usage goes to stderr");
    }

    @ParameterizedTest
    @CsvSource({"'[::1]:7410', '[::1]:7410'", "'[::1]', '[::1]'", "'::1', '::1'", "'hostb', 'hostb'", "' hostb:7500 ', 'hostb:7500'"})
    void ipv6AndPlainDestinations(String dest, String sent) throws Exception {
        scriptSuccess();
        assertEquals(0, cli.run("migrate", "vm1", dest, "--socket", agent.socket().toString()), cli.err.text());
        assertEquals(sent, agent.nextRequest().dest());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"hostb:x|bad port 'x'", "[::1|no ']'", "[::1]:99999|bad port '99999'", ":7410|no host"})
    void badDestinationsAreUsageErrors(String dest, String why) {
        assertEquals(2, cli.run("migrate", "vm1", dest, "--socket", agent.socket().toString()));
        assertTrue(cli.err.text().startsWith("Invalid value for DEST: bad address '" + dest + "': " + why), cli.err.text());
    }

    @Test
    void aRelativeSocketPathIsTheCallers() throws Exception {
        scriptSuccess();
        assertEquals(0, cli.run("migrate", "./vms/../vms/vm1/qmp.sock", "hostb", "--socket", agent.socket().toString()), cli.err.text());
        assertEquals(Path.of("").toAbsolutePath().resolve("vms/vm1/qmp.sock").toString(), agent.nextRequest().vm(),
                "made absolute against the caller's directory before it goes to the agent");
        scriptSuccess();
        assertEquals(0, cli.run("migrate", "web1", "hostb", "--socket", agent.socket().toString()), cli.err.text());
        assertEquals("web1", agent.nextRequest().vm(), "a VM name stays a name");
    }
}
