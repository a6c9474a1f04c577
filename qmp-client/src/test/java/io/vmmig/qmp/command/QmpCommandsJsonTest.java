package io.vmmig.qmp.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.qmp.QmpJson;
import io.vmmig.qmp.codec.QmpEncoder;
import io.vmmig.qmp.command.QmpCommands.BitmapSource;
import io.vmmig.qmp.command.QmpCommands.BlockDirtyBitmapAdd;
import io.vmmig.qmp.command.QmpCommands.BlockDirtyBitmapMerge;
import io.vmmig.qmp.command.QmpCommands.TransactionAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The exact JSON each kind of typed command puts on the wire. */
class QmpCommandsJsonTest {
    private final ObjectMapper mapper = QmpJson.newMapper();
    private final QmpEncoder encoder = new QmpEncoder(mapper);

    private String wire(QmpCommand<?> c) {
        ObjectNode args = encoder.arguments(c.commandName(), c.arguments());
        return new String(encoder.encode(c.commandName(), args, "vmmig-7"), StandardCharsets.UTF_8);
    }

    @Test
    void noArgumentCommandsSendNoArgumentsMember() {
        assertEquals("{\"execute\":\"query-status\",\"id\":\"vmmig-7\"}\r\n", wire(new QmpCommands.QueryStatus()));
        assertEquals("{\"execute\":\"migrate_cancel\",\"id\":\"vmmig-7\"}\r\n", wire(new QmpCommands.MigrateCancel()));
    }

    @Test
    void nullOptionalArgumentsAreOmittedAndNamesAreDashed() throws Exception {
        assertEquals(mapper.readTree("{\"execute\":\"blockdev-mirror\",\"arguments\":{\"job-id\":\"m0\","
                        + "\"device\":\"disk\",\"target\":\"local-fmt\",\"sync\":\"none\"},\"id\":\"vmmig-7\"}"),
                mapper.readTree(wire(QmpCommands.BlockdevMirror.of("m0", "disk", "local-fmt", "none"))));
        assertEquals("{\"execute\":\"block-dirty-bitmap-add\",\"arguments\":{\"node\":\"fmt\",\"name\":\"e0\","
                        + "\"granularity\":65536},\"id\":\"vmmig-7\"}\r\n",
                wire(new BlockDirtyBitmapAdd("fmt", "e0", 65536L, null, null)));
        assertEquals("{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info status\"},"
                + "\"id\":\"vmmig-7\"}\r\n", wire(new QmpCommands.HumanMonitorCommand("info status")));
    }

    @Test
    void flatUnionsAndNestedShapesSerializeAsQemuExpects() throws Exception {
        JsonNode export = mapper.readTree(wire(new QmpCommands.BlockExportAddNbd("ep0", "fmt", "ep0", false, null,
                null, List.of("e0"), true, null, null))).get("arguments");
        assertEquals(mapper.readTree("{\"type\":\"nbd\",\"id\":\"ep0\",\"node-name\":\"fmt\",\"name\":\"ep0\","
                + "\"writable\":false,\"bitmaps\":[\"e0\"],\"allocation-depth\":true}"), export);
        JsonNode nbd = mapper.readTree(wire(QmpCommands.NbdServerStart.unix("/tmp/s"))).get("arguments");
        assertEquals(mapper.readTree("{\"addr\":{\"type\":\"unix\",\"data\":{\"path\":\"/tmp/s\"}}}"), nbd);
        JsonNode merge = mapper.readTree(wire(new BlockDirtyBitmapMerge("fmt", "t",
                List.of(BitmapSource.local("a"), new BitmapSource("other", "b"))))).get("arguments");
        assertEquals(mapper.readTree("{\"node\":\"fmt\",\"target\":\"t\",\"bitmaps\":[\"a\","
                + "{\"node\":\"other\",\"name\":\"b\"}]}"), merge);
    }

    @Test
    void tlsCredentialsAndTheMigrationsTlsParameters() throws Exception {
        assertEquals(mapper.readTree("{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"tls-creds-x509\","
                        + "\"id\":\"t0\",\"dir\":\"/s/m/m-1/qemu-tls\",\"endpoint\":\"client\",\"verify-peer\":true},"
                        + "\"id\":\"vmmig-7\"}"),
                mapper.readTree(wire(new QmpCommands.ObjectAddTlsCredsX509("t0", "/s/m/m-1/qemu-tls", "client", true))));
        assertEquals(mapper.readTree("{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"tls-creds\":\"t0\","
                        + "\"tls-hostname\":\"10.0.0.2\"},\"id\":\"vmmig-7\"}"),
                mapper.readTree(wire(QmpCommands.MigrateSetParameters.tls("t0", "10.0.0.2"))));
        assertEquals(mapper.readTree("{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"tls-creds\":\"\"},"
                + "\"id\":\"vmmig-7\"}"), mapper.readTree(wire(QmpCommands.MigrateSetParameters.tls("", null))));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new QmpCommands.ObjectAddTlsCredsX509("t0", "/d", "both", true));
    }

    @Test
    void theIncomingAnnounceTimingIsAMigrationParameter() throws Exception {
        assertEquals(mapper.readTree("{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"announce-initial\":50,"
                        + "\"announce-max\":550,\"announce-rounds\":0,\"announce-step\":100},\"id\":\"vmmig-7\"}"),
                mapper.readTree(wire(new QmpCommands.MigrateSetAnnounceParameters(50, 550, 0, 100))));
    }

    @Test
    void transactionActionsCarryTypeAndData() throws Exception {
        JsonNode tx = mapper.readTree(wire(new QmpCommands.Transaction(List.of(
                TransactionAction.bitmapAdd(new BlockDirtyBitmapAdd("fmt", "e1", null, null, null)),
                TransactionAction.bitmapDisable("fmt", "e0"))))).get("arguments");
        assertEquals(mapper.readTree("{\"actions\":[{\"type\":\"block-dirty-bitmap-add\",\"data\":{\"node\":\"fmt\","
                + "\"name\":\"e1\"}},{\"type\":\"block-dirty-bitmap-disable\",\"data\":{\"node\":\"fmt\","
                + "\"name\":\"e0\"}}]}"), tx);
    }

    @Test
    void freeFormBlockdevOptionsKeepExplicitNulls() throws Exception {
        ObjectNode opts = (ObjectNode) mapper.readTree("{\"driver\":\"qcow2\",\"node-name\":\"top\","
                + "\"file\":\"f\",\"backing\":null}");
        JsonNode sent = mapper.readTree(wire(new QmpCommands.BlockdevAdd(opts))).get("arguments");
        assertEquals(opts, sent);
        assertEquals(true, sent.get("backing").isNull());
    }

    @Test
    void repliesMapToRecordsIgnoringUnknownFields() throws Exception {
        String reply = "[{\"file\":\"/t/a.qcow2\",\"node-name\":\"fmt\",\"ro\":false,\"drv\":\"qcow2\","
                + "\"backing_file_depth\":0,\"encrypted\":false,\"detect_zeroes\":\"off\",\"bps\":0,"
                + "\"image\":{\"filename\":\"/t/a.qcow2\",\"format\":\"qcow2\",\"virtual-size\":1048576,"
                + "\"cluster-size\":65536,\"format-specific\":{\"type\":\"qcow2\"}},"
                + "\"dirty-bitmaps\":[{\"name\":\"e0\",\"count\":0,\"granularity\":65536,\"recording\":true,"
                + "\"busy\":false,\"persistent\":false}],\"cache\":{\"writeback\":true}}]";
        QmpCommands.QueryNamedBlockNodes q = new QmpCommands.QueryNamedBlockNodes(true);
        List<QmpResults.BlockDeviceInfo> nodes = mapper.convertValue(mapper.readTree(reply),
                q.resultType(mapper.getTypeFactory()));
        QmpResults.BlockDeviceInfo n = nodes.get(0);
        assertEquals("fmt", n.nodeName());
        assertEquals(1048576L, n.image().virtualSize());
        assertEquals(65536L, n.image().clusterSize());
        assertNull(n.backingFile());
        assertEquals(new QmpResults.DirtyBitmapInfo("e0", 0, 65536, true, false, false, null), n.dirtyBitmaps().get(0));
    }
}
