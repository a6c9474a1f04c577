package io.vmmig.agent.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.MigrationEvent;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.qemu.SourceReport;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ControlCodecTest {
    private static final MigrationProgress PROGRESS = new MigrationProgress(1500, 1L << 30, 300L << 20, 700L << 20, 0,
            64L << 20, 128L << 20, 256L << 20, 90_000_000, 12);

    private static MigrationReport report() {
        SourceReport s = new SourceReport(512L << 20, 400L << 20, 8192, 3, 10L << 20, 200L << 20, 64L << 20, 1024, 85, false, 0);
        DestinationReport d = new DestinationReport(512L << 20, 64L << 20, 300, 724, 5, 42);
        List<MigrationTimeline.Mark> marks = List.of(new MigrationTimeline.Mark(MigrationEvent.DISK_STARTED, Duration.ofMillis(12)),
                new MigrationTimeline.Mark(MigrationEvent.MEMORY_STARTED, Duration.ofMillis(4200)),
                new MigrationTimeline.Mark(MigrationEvent.SWITCHED_OVER, Duration.ofMillis(9876)));
        return new MigrationReport("m-0badcafe", Strategy.MIRROR, "mirror-wb", 15_000, 2_100, 9_876, 120, 85, 300L << 20, s, d, marks, 140);
    }

    private static void roundTrip(ControlEvent e) {
        String line = ControlCodec.encode(e);
        assertFalse(line.contains("\n"), line);
        ControlEvent back = ControlCodec.decodeEvent(line);
        assertEquals(line, ControlCodec.encode(back));
        // a parsed report tree holds ints where the original held longs: JsonNode equality differs, the JSON does not
        if (!(e instanceof ControlEvent.Report)) assertEquals(e, back, line);
    }

    private static void roundTrip(ControlRequest r) {
        String line = ControlCodec.encode(r);
        assertFalse(line.contains("\n"), line);
        assertEquals(r, ControlCodec.decodeRequest(line), line);
    }

    @Test
    void everyRequestRoundTrips() {
        roundTrip(ControlRequest.migrate("web1", "dst.example:7410", "mirror-wb", 100_000_000L, 3, 1 << 20, "/srv/images/web1.qcow2"));
        roundTrip(ControlRequest.migrate("/run/vms/web1/qmp.sock", "dst", null, null, null, null, null));
        roundTrip(ControlRequest.status("m-00000001"));
        roundTrip(ControlRequest.list());
        roundTrip(ControlRequest.cancel("m-00000002"));
        roundTrip(ControlRequest.watch("m-00000003"));
    }

    @Test
    void requestShapeOmitsUnusedFields() throws Exception {
        JsonNode n = ControlCodec.mapper().readTree(ControlCodec.encode(ControlRequest.status("m-1")));
        assertEquals("STATUS", n.path("op").asText());
        assertEquals("m-1", n.path("id").asText());
        assertEquals(2, n.size(), n.toString());
        assertEquals("{\"op\":\"LIST\"}", ControlCodec.encode(ControlRequest.list()));
    }

    @Test
    void everyEventRoundTrips() {
        MigrationStatus running = new MigrationStatus("m-1", "source", "web1", "dst:7410", "hybrid", MigrationPhase.PUSHING,
                "2026-11-22T06:30:00Z", PROGRESS, null);
        MigrationStatus failed = new MigrationStatus("m-2", "destination", "web2", "10.0.0.1:51234", "precopy", MigrationPhase.FAILED,
                "2026-11-22T06:31:00Z", null, "the source went away");
        roundTrip(new ControlEvent.Accepted("m-1", "web1", "dst:7410", "hybrid"));
        for (MigrationPhase p : MigrationPhase.values()) roundTrip(new ControlEvent.PhaseChange("m-1", p, 1234));
        roundTrip(new ControlEvent.Progress("m-1", MigrationPhase.PULLING, PROGRESS));
        roundTrip(new ControlEvent.Report("m-1", ControlCodec.tree(report()), report().summary()));
        for (ErrorKind k : ErrorKind.values()) roundTrip(new ControlEvent.Failure("m-1", k, "went wrong: " + k));
        roundTrip(new ControlEvent.Failure(null, ErrorKind.BAD_REQUEST, "no migration was created"));
        roundTrip(new ControlEvent.Status(running));
        roundTrip(new ControlEvent.Status(failed));
        roundTrip(new ControlEvent.Listing(List.of(running, failed)));
        roundTrip(new ControlEvent.Listing(List.of()));
        roundTrip(new ControlEvent.Cancelling("m-1"));
    }

    @Test
    void eventShapesNameTheirType() throws Exception {
        assertEquals("{\"event\":\"cancelling\",\"id\":\"m-1\"}", ControlCodec.encode(new ControlEvent.Cancelling("m-1")));
        assertEquals("{\"event\":\"phase\",\"id\":\"m-1\",\"phase\":\"MEMORY\",\"elapsedMillis\":7}",
                ControlCodec.encode(new ControlEvent.PhaseChange("m-1", MigrationPhase.MEMORY, 7)));
        JsonNode f = ControlCodec.mapper().readTree(ControlCodec.encode(new ControlEvent.Failure(null, ErrorKind.NO_SPACE, "full")));
        assertEquals("error", f.path("event").asText());
        assertEquals("NO_SPACE", f.path("kind").asText());
        assertFalse(f.has("id"), "a null id is left out: " + f);
        assertFalse(f.has("terminal"), "terminal() is not a field: " + f);
        for (String type : List.of("accepted", "progress", "report", "status", "list"))
            assertTrue(ControlCodec.encode(sample(type)).startsWith("{\"event\":\"" + type + "\""), type);
    }

    private static ControlEvent sample(String type) {
        return switch (type) {
            case "accepted" -> new ControlEvent.Accepted("m", "vm", "d", "hybrid");
            case "progress" -> new ControlEvent.Progress("m", MigrationPhase.PUSHING, PROGRESS);
            case "report" -> new ControlEvent.Report("m", ControlCodec.tree(report()), "s");
            case "status" -> new ControlEvent.Status(null);
            default -> new ControlEvent.Listing(List.of());
        };
    }

    @Test
    void terminalEvents() {
        assertFalse(new ControlEvent.Accepted("m", "vm", "d", "hybrid").terminal());
        assertFalse(new ControlEvent.PhaseChange("m", MigrationPhase.COMPLETED, 1).terminal());
        assertFalse(new ControlEvent.Progress("m", MigrationPhase.PUSHING, PROGRESS).terminal());
        assertTrue(new ControlEvent.Report("m", null, "s").terminal());
        assertTrue(new ControlEvent.Failure("m", ErrorKind.FAILED, "x").terminal());
        assertTrue(new ControlEvent.Status(null).terminal());
        assertTrue(new ControlEvent.Listing(List.of()).terminal());
        assertTrue(new ControlEvent.Cancelling("m").terminal());
    }

    @Test
    void engineReportSurvivesTheTreeWithDurationsAsMilliseconds() throws Exception {
        MigrationReport r = report();
        JsonNode tree = ControlCodec.tree(r);
        assertEquals("MIRROR", tree.path("strategy").asText());
        assertEquals("mirror-wb", tree.path("strategyName").asText());
        assertEquals(2_100, tree.path("preparingMillis").asLong());
        assertEquals(15_000, tree.path("totalMillis").asLong());
        assertEquals(140, tree.path("guestGapMillis").asLong());
        assertEquals(1024, tree.path("source").path("remainingChunks").asInt());
        assertEquals(42, tree.path("destination").path("pivotMillis").asLong());
        JsonNode mark = tree.path("timeline").get(1);
        assertEquals("MEMORY_STARTED", mark.path("event").asText());
        assertTrue(mark.path("at").isIntegralNumber(), "a Duration is a number of milliseconds: " + mark);
        assertEquals(4200, mark.path("at").asLong());
        assertFalse(tree.has("summary") || tree.has("diskBytesMoved"), "only the record's components: " + tree.fieldNames());

        assertEquals(r, ControlCodec.mapper().treeToValue(tree, MigrationReport.class));
        // and through a whole report event line, as the CLI reads it
        ControlEvent.Report e = (ControlEvent.Report) ControlCodec.decodeEvent(
                ControlCodec.encode(new ControlEvent.Report(r.migrationId(), tree, r.summary())));
        assertEquals(r, ControlCodec.mapper().treeToValue(e.report(), MigrationReport.class));
        assertEquals(r.summary(), e.summary());
        assertEquals(r.destination(), ControlCodec.mapper().treeToValue(tree.path("destination"), DestinationReport.class));
    }

    @Test
    void reportWithoutDestinationSide() throws Exception {
        MigrationReport r = report().withDestination(null);
        assertEquals(r, ControlCodec.mapper().treeToValue(ControlCodec.tree(r), MigrationReport.class));
    }

    @Test
    void unknownFieldsAreIgnoredAndNamesAreCaseInsensitive() {
        ControlRequest r = ControlCodec.decodeRequest(
                "{\"op\":\"migrate\",\"vm\":\"web1\",\"dest\":\"dst\",\"priority\":\"high\",\"extra\":{\"a\":[1,2]}}");
        assertEquals(ControlRequest.Op.MIGRATE, r.op());
        assertEquals("web1", r.vm());
        assertEquals("dst", r.dest());
        assertNull(r.strategy());
        ControlEvent e = ControlCodec.decodeEvent("{\"event\":\"phase\",\"id\":\"m-1\",\"phase\":\"pulling\",\"elapsedMillis\":5,\"host\":\"x\"}");
        assertEquals(new ControlEvent.PhaseChange("m-1", MigrationPhase.PULLING, 5), e);
        assertEquals(new ControlEvent.Progress("m-1", MigrationPhase.MEMORY, null),
                ControlCodec.decodeEvent("{\"event\":\"progress\",\"id\":\"m-1\",\"phase\":\"MEMORY\",\"rate\":9}"));
    }

    private static void assertBadRequest(String line, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ControlCodec.decodeRequest(line), line);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
    }

    private static void assertBadEvent(String line, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ControlCodec.decodeEvent(line), line);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
    }

    @Test
    void badRequestLines() {
        assertBadRequest("{\"vm\":\"web1\"}", "without \"op\"", "web1");
        assertBadRequest("{\"op\":\"explode\"}", "bad control request", "explode");
        assertBadRequest("not json", "bad control request", "not json");
        assertBadRequest("", "bad control request");
        assertBadRequest("{\"op\":\"status\"", "bad control request");
        assertBadRequest("[\"status\"]", "bad control request");
        assertBadRequest("null", "control request");
        assertBadRequest("{\"op\":\"migrate\",\"bandwidth\":\"fast\"}", "bad control request", "fast");
        assertBadRequest("{\"op\":\"status\",\"id\":\"" + "x".repeat(ControlCodec.MAX_LINE) + "\"}", "longer than " + ControlCodec.MAX_LINE);
        String longBad = "{\"op\":\"nope\",\"id\":\"" + "y".repeat(500) + "\"}";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ControlCodec.decodeRequest(longBad));
        assertTrue(e.getMessage().contains("..."), "a long line is abbreviated: " + e.getMessage());
        assertTrue(e.getMessage().length() < 400, "a long line is abbreviated: " + e.getMessage().length());
    }

    @Test
    void badEventLines() {
        assertBadEvent("{\"id\":\"m-1\"}", "bad control event", "event");
        assertBadEvent("{\"event\":\"party\",\"id\":\"m-1\"}", "bad control event", "party");
        assertBadEvent("{\"event\":\"error\",\"kind\":\"ON_FIRE\",\"message\":\"x\"}", "bad control event", "ON_FIRE");
        assertBadEvent("{\"event\":\"phase\",\"phase\":\"SLEEPING\"}", "bad control event", "SLEEPING");
        assertBadEvent("}{", "bad control event");
        assertBadEvent("null", "control event");
    }
}
