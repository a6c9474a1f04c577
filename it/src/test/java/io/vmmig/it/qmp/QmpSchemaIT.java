package io.vmmig.it.qmp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpJson;
import io.vmmig.qmp.codec.QmpEncoder;
import io.vmmig.qmp.command.QmpCommand;
import io.vmmig.qmp.command.QmpCommands;
import io.vmmig.qmp.command.QmpCommands.BitmapMigrationBitmapAlias;
import io.vmmig.qmp.command.QmpCommands.BitmapMigrationNodeAlias;
import io.vmmig.qmp.command.QmpCommands.BitmapSource;
import io.vmmig.qmp.command.QmpCommands.BlockDirtyBitmapAdd;
import io.vmmig.qmp.command.QmpCommands.BlockDirtyBitmapMerge;
import io.vmmig.qmp.command.QmpCommands.SocketAddressLegacy;
import io.vmmig.qmp.command.QmpCommands.TransactionAction;
import io.vmmig.qmp.command.QmpCommands.TransactionProperties;
import io.vmmig.qmp.command.QmpResults.MigrationCapability;
import io.vmmig.testkit.QemuProcess;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every command and argument name vmmig can send, checked against the running QEMU's own
 * {@code query-qmp-schema}: a misspelled argument, a wrong enum value or a command missing from this QEMU
 * fails here.
 */
@Timeout(120)
class QmpSchemaIT {
    private static final ObjectMapper MAPPER = QmpJson.newMapper();
    private static QemuProcess qemu;
    private static QmpSchema schema;

    @BeforeAll
    static void fetchSchema() {
        qemu = QemuProcess.builder().name("qmp-schema").memoryMb(64).extraArgs(List.of("-S")).start();
        try (QmpClient qmp = QmpClient.connect(qemu.qmpSocket())) {
            JsonNode raw = QmpClient.join(qmp.execute("query-qmp-schema", null));
            assertTrue(raw.isArray() && raw.size() > 500, "schema has " + raw.size() + " entries");
            schema = new QmpSchema(raw);
        }
    }

    @AfterAll
    static void stopQemu() {
        if (qemu != null) {
            qemu.close();
        }
    }

    private static ObjectNode json(String s) {
        try {
            return (ObjectNode) MAPPER.readTree(s);
        } catch (Exception e) {
            throw new IllegalArgumentException(s, e);
        }
    }

    /** One instance of every typed command, every optional argument set. */
    static List<QmpCommand<?>> samples() {
        BlockDirtyBitmapAdd bitmapAdd = new BlockDirtyBitmapAdd("fmt", "e0", 65536L, false, true);
        BlockDirtyBitmapMerge merge = new BlockDirtyBitmapMerge("fmt", "e0",
                List.of(BitmapSource.local("e1"), new BitmapSource("other-fmt", "e2")));
        return List.of(
                new QmpCommands.QueryStatus(),
                new QmpCommands.QueryVersion(),
                new QmpCommands.QueryBlock(),
                new QmpCommands.QueryNamedBlockNodes(true),
                new QmpCommands.QueryBlockJobs(),
                new QmpCommands.QueryBlockExports(),
                new QmpCommands.QueryMigrate(),
                new QmpCommands.QueryMigrateCapabilities(),
                new QmpCommands.QueryMigrateParameters(),
                new QmpCommands.AnnounceSelf(50, 550, 5, 100),
                new QmpCommands.MigrateSetAnnounceParameters(50, 550, 5, 100),
                // blockdev-add options as vmmig builds them (flat union, nested BlockdevRef alternates)
                new QmpCommands.BlockdevAdd(json("{\"driver\":\"qcow2\",\"node-name\":\"fmt\",\"discard\":\"unmap\","
                        + "\"cache\":{\"direct\":false,\"no-flush\":false},\"read-only\":false,"
                        + "\"auto-read-only\":false,\"force-share\":false,\"detect-zeroes\":\"off\",\"backing\":null,"
                        + "\"file\":{\"driver\":\"file\",\"filename\":\"/tmp/x.qcow2\",\"locking\":\"off\","
                        + "\"aio\":\"threads\",\"node-name\":\"fmt-file\"}}")),
                new QmpCommands.BlockdevAdd(json("{\"driver\":\"nbd\",\"node-name\":\"nbd0\",\"server\":{\"type\":"
                        + "\"unix\",\"path\":\"/tmp/agent.sock\"},\"export\":\"disk\",\"reconnect-delay\":5}")),
                new QmpCommands.BlockdevAdd(json("{\"driver\":\"raw\",\"node-name\":\"disk\",\"file\":\"nbd0\"}")),
                new QmpCommands.BlockdevDel("fmt"),
                new QmpCommands.BlockdevReopen(List.of(json("{\"driver\":\"raw\",\"node-name\":\"disk\","
                        + "\"file\":\"local-fmt\"}"))),
                new QmpCommands.BlockdevMirror("m0", "disk", "local-fmt", "disk", "none", 1L << 30, 65536L, 1L << 20,
                        "report", "stop", "mirror-top", "write-blocking", true, false),
                new QmpCommands.BlockJobCancel("m0", true),
                new QmpCommands.BlockJobComplete("m0"),
                new QmpCommands.JobDismiss("m0"),
                bitmapAdd,
                new QmpCommands.BlockDirtyBitmapRemove("fmt", "e0"),
                new QmpCommands.BlockDirtyBitmapEnable("fmt", "e0"),
                new QmpCommands.BlockDirtyBitmapDisable("fmt", "e0"),
                new QmpCommands.BlockDirtyBitmapClear("fmt", "e0"),
                merge,
                new QmpCommands.Transaction(List.of(
                        TransactionAction.bitmapAdd(bitmapAdd),
                        TransactionAction.bitmapRemove("fmt", "e0"),
                        TransactionAction.bitmapEnable("fmt", "e0"),
                        TransactionAction.bitmapDisable("fmt", "e0"),
                        TransactionAction.bitmapClear("fmt", "e0"),
                        TransactionAction.bitmapMerge(merge),
                        TransactionAction.abort()), new TransactionProperties("individual")),
                new QmpCommands.NbdServerStart(SocketAddressLegacy.unix("/tmp/nbd.sock"), "tls0", "authz0", 8L),
                new QmpCommands.NbdServerStart(SocketAddressLegacy.inet("127.0.0.1", 10809), "tls0", "authz0", 8L),
                new QmpCommands.NbdServerStop(),
                new QmpCommands.BlockExportAddNbd("ep0", "fmt", "ep0", false, true, "epoch 0", List.of("e0"), true,
                        "iothread0", false),
                new QmpCommands.BlockExportDel("ep0", "hard"),
                new QmpCommands.Migrate("unix:/tmp/mig.sock", false, false),
                new QmpCommands.MigrateIncoming("unix:/tmp/mig.sock"),
                new QmpCommands.MigrateSetCapabilities(List.of(new MigrationCapability("events", true),
                        new MigrationCapability("pause-before-switchover", true))),
                new QmpCommands.MigrateSetParameters(1L << 30, 300L, 1L << 29, 2, 20, 10, 99,
                        List.of(new BitmapMigrationNodeAlias("fmt", "disk0",
                                List.of(new BitmapMigrationBitmapAlias("e0", "b0")))), "tls0", "host-b"),
                // the mirror's NBD client node over TLS, as MirrorSource adds it between hosts
                new QmpCommands.BlockdevAdd(json("{\"driver\":\"nbd\",\"node-name\":\"nbd1\",\"server\":{\"type\":"
                        + "\"inet\",\"host\":\"10.0.0.2\",\"port\":\"10809\"},\"export\":\"disk\","
                        + "\"tls-creds\":\"tls0\",\"tls-hostname\":\"10.0.0.2\"}")),
                new QmpCommands.ObjectAddTlsCredsX509("tls0", "/tmp/pki", "client", true),
                new QmpCommands.ObjectDel("tls0"),
                new QmpCommands.MigrateContinue("pre-switchover"),
                new QmpCommands.MigrateCancel(),
                new QmpCommands.Stop(),
                new QmpCommands.Cont(),
                new QmpCommands.Quit(),
                new QmpCommands.HumanMonitorCommand("info status", 0));
    }

    private static ObjectNode arguments(QmpCommand<?> c) {
        return new QmpEncoder(MAPPER).arguments(c.commandName(), c.arguments());
    }

    @Test
    void everyTypedCommandHasAFullyPopulatedSample() throws Exception {
        Set<String> typed = Arrays.stream(QmpCommands.class.getDeclaredClasses())
                .filter(c -> QmpCommand.class.isAssignableFrom(c) && c.isRecord())
                .map(Class::getSimpleName).collect(Collectors.toCollection(TreeSet::new));
        Set<String> sampled = samples().stream().map(c -> c.getClass().getSimpleName())
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(typed, sampled, "add a sample for each command record");
        assertEquals(7, ((QmpCommands.Transaction) samples().stream()
                .filter(c -> c instanceof QmpCommands.Transaction).findFirst().orElseThrow()).actions().size());
        for (QmpCommand<?> c : samples()) {
            for (RecordComponent rc : c.getClass().getRecordComponents()) {
                assertNotNull(rc.getAccessor().invoke(c), c.getClass().getSimpleName() + "." + rc.getName()
                        + " is null in the sample: set every optional argument so the schema check covers it");
            }
        }
    }

    @Test
    void everyCommandAndArgumentVmmigSendsExistsInQemusSchema() {
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (QmpCommand<?> c : samples()) {
            ObjectNode args = arguments(c);
            for (String p : schema.check(c.commandName(), args)) {
                problems.add(c.getClass().getSimpleName() + " " + args + ": " + p);
            }
            checked++;
        }
        assertTrue(problems.isEmpty(), String.join("\n", problems));
        assertEquals(samples().size(), checked);
    }

    @Test
    void theCheckerCatchesMisspellingsWrongTypesAndMissingArguments() {
        assertTrue(schema.check("blockdev-del", json("{\"node_name\":\"fmt\"}")).stream()
                .anyMatch(p -> p.contains("unknown member 'node_name'")));
        assertTrue(schema.check("block-dirty-bitmap-add", json("{\"node\":\"fmt\",\"name\":\"e0\","
                + "\"granularity\":\"64k\"}")).stream().anyMatch(p -> p.contains("expected int")));
        assertTrue(schema.check("block-export-add", json("{\"type\":\"nbd\",\"id\":\"e\",\"node-name\":\"fmt\","
                + "\"bitmap\":[\"e0\"]}")).stream().anyMatch(p -> p.contains("unknown member 'bitmap'")),
                "variant members are resolved through the tag");
        assertTrue(schema.check("blockdev-add", json("{\"driver\":\"qcow2\",\"node-name\":\"fmt\","
                + "\"file\":{\"driver\":\"file\",\"file-name\":\"/x\"}}")).stream()
                .anyMatch(p -> p.contains("unknown member 'file-name'")), "nested flat unions are checked");
        assertTrue(schema.check("migrate-continue", json("{\"state\":\"pre_switchover\"}")).stream()
                .anyMatch(p -> p.contains("is not one of")));
        assertTrue(schema.check("block-job-complete", json("{}")).stream()
                .anyMatch(p -> p.contains("required member 'device' missing")));
        assertTrue(schema.check("migrate-cancel", null).stream().anyMatch(p -> p.contains("no command")),
                "QEMU spells it migrate_cancel");
        assertTrue(schema.hasCommand("migrate_cancel"));
    }
}
