package io.vmmig.agent.session;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.agent.vm.Descriptions;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each field of each control message from a peer: refused with the field named, or accepted. */
class PeerValuesTest {
    private static final JsonNode DESCRIPTION = Descriptions.minimal("disk0").toJson();
    private static final String TOKEN = Base64.getEncoder().encodeToString(new byte[32]);

    private static PeerMessage.Prepare prepare(String id, int chunk, long size, long allocated, String backing, String image,
                                               String target) {
        return new PeerMessage.Prepare(id, "hybrid", chunk, List.of(new PeerMessage.Disk("disk0", "qcow2", size, allocated, backing, image)),
                target, DESCRIPTION, "web1", "7.2.0");
    }

    /** {@code g} with its one disk's node and format replaced. */
    private static PeerMessage.Prepare withDisk(PeerMessage.Prepare g, String node, String format) {
        PeerMessage.Disk k = g.disks().get(0);
        return new PeerMessage.Prepare(g.id(), g.strategy(), g.chunkSize(), List.of(new PeerMessage.Disk(node, format, k.virtualSize(),
                k.allocatedBytes(), null, k.imageName())), null, DESCRIPTION, g.vm(), null);
    }

    private static PeerMessage.Prepare good() {
        return prepare("m-0a1b2c3d", 256 << 10, 1L << 30, 1L << 20, null, "web1.qcow2", null);
    }

    private static String refused(PeerMessage m) {
        AgentException e = assertThrows(AgentException.class, () -> PeerValues.check(m));
        assertEquals(ErrorKind.BAD_REQUEST, e.kind());
        return e.getMessage();
    }

    @Test
    void aRealPrepareIsAccepted() {
        assertDoesNotThrow(() -> PeerValues.check(good()));
        assertDoesNotThrow(() -> PeerValues.check(prepare("m-1", 64 << 10, 512, 0, "/var/lib/images/base.qcow2", "a+b_c-1.raw",
                "/var/lib/images/sub/x.qcow2")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"../../../tmp/x", "..", ".", "a/b", "/abs", "", " m1", "m1\n", ".hidden", "-rf",
            "a-very-long-id-of-more-than-sixty-four-characters-0123456789abcdef"})
    void forgedMigrationIdsAreRefused(String id) {
        String m = refused(prepare(id, 256 << 10, 1L << 30, 0, null, "x.qcow2", null));
        assertTrue(m.startsWith("invalid prepare from the peer: id "), m);
        assertTrue(m.contains("is not a migration id"), m);
        assertTrue(!m.contains("\n"), "control characters are escaped in the message: " + m);
    }

    @Test
    void sizesOutOfRangeAreRefused() {
        assertTrue(refused(prepare("m1", 256 << 10, -1, 0, null, "x.qcow2", null)).contains("virtualSize -1 is not a positive size"));
        assertTrue(refused(prepare("m1", 256 << 10, 0, 0, null, "x.qcow2", null)).contains("virtualSize 0 is not a positive size"));
        assertTrue(refused(prepare("m1", 256 << 10, Long.MAX_VALUE, 0, null, "x.qcow2", null)).contains("over the largest disk"));
        assertTrue(refused(prepare("m1", 64 << 10, 16L << 40, 0, null, "x.qcow2", null)).contains("chunks of 65536, over 134217728"));
        assertTrue(refused(prepare("m1", 256 << 10, 1L << 30, -5, null, "x.qcow2", null)).contains("allocatedBytes -5 is outside"));
        for (int chunk : new int[] {0, -1, 1000, 32 << 10, 32 << 20, Integer.MIN_VALUE})
            assertTrue(refused(prepare("m1", chunk, 1L << 30, 0, null, "x.qcow2", null)).contains("chunkSize " + chunk), "chunk " + chunk);
    }

    @Test
    void namesAndPathsAreRefused() {
        assertTrue(refused(prepare("m1", 256 << 10, 1L << 30, 0, null, "../x.qcow2", null)).contains("imageName '../x.qcow2'"));
        assertTrue(refused(prepare("m1", 256 << 10, 1L << 30, 0, null, "a/b.qcow2", null)).contains("imageName"));
        assertTrue(refused(prepare("m1", 256 << 10, 1L << 30, 0, null, "-o.qcow2", null)).contains("imageName"));
        assertTrue(refused(prepare("m1", 256 << 10, 1L << 30, 0, "base.qcow2", "x.qcow2", null)).contains("backingFile 'base.qcow2' is not an absolute path"));
        assertTrue(refused(prepare("m1", 256 << 10, 1L << 30, 0, "-o", "x.qcow2", null)).contains("backingFile"));
        assertTrue(refused(prepare("m1", 256 << 10, 1L << 30, 0, null, "x.qcow2", "/var/lib/images/../../etc/x")).contains("target"));
        assertTrue(refused(prepare("m1", 256 << 10, 1L << 30, 0, null, "x.qcow2", "/images/a\u0000b")).contains("target"));
        PeerMessage.Prepare g = good();
        assertTrue(refused(withDisk(g, "-drive", "qcow2")).contains("disks[0].node '-drive'"));
        assertTrue(refused(withDisk(g, "disk0", "-o backing_file=/etc/shadow")).contains("disks[0].format"));
        assertTrue(refused(new PeerMessage.Prepare(g.id(), "teleport", g.chunkSize(), g.disks(), null, DESCRIPTION, g.vm(), null))
                .contains("teleport"));
        assertTrue(refused(new PeerMessage.Prepare(g.id(), g.strategy(), g.chunkSize(), g.disks(), null, DESCRIPTION, "web1\u001b[2J", null))
                .contains("vm "));
        // several disks: each checked, and together they must fit one hand-over
        List<PeerMessage.Disk> many = new java.util.ArrayList<>();
        for (int i = 0; i < 17; i++) many.add(new PeerMessage.Disk("d" + i, "raw", 1L << 30, 0, null, "d" + i + ".raw"));
        assertTrue(refused(new PeerMessage.Prepare(g.id(), g.strategy(), g.chunkSize(), many, null, DESCRIPTION, g.vm(), null))
                .contains("17 disks, not 1..16"));
        assertTrue(refused(new PeerMessage.Prepare(g.id(), g.strategy(), g.chunkSize(), List.of(), null, DESCRIPTION, g.vm(), null))
                .contains("0 disks"));
        assertTrue(refused(new PeerMessage.Prepare(g.id(), g.strategy(), g.chunkSize(), List.of(g.disks().get(0),
                new PeerMessage.Disk("disk1", "raw", 1L << 30, 0, null, "../x.raw")), null, DESCRIPTION, g.vm(), null))
                .contains("disks[1].imageName"));
        long big = (long) io.vmmig.strategy.peer.FrameDecoder.MAX_CHUNKS * (64 << 10) / 2 + (1L << 30);
        assertTrue(refused(new PeerMessage.Prepare(g.id(), g.strategy(), 64 << 10, List.of(
                new PeerMessage.Disk("a", "raw", big, 0, null, "a.raw"), new PeerMessage.Disk("b", "raw", big, 0, null, "b.raw")),
                null, DESCRIPTION, g.vm(), null)).contains("one hand-over can describe"), "each fits alone, not both");
    }

    @Test
    void anAllNullPrepareIsAProtocolErrorNotANullPointer() throws Exception {
        PeerMessage m = ControlCodec.mapper().readValue("{\"type\":\"prepare\",\"id\":null,\"strategy\":null,\"chunkSize\":null,"
                + "\"disks\":null,\"target\":null,\"description\":null,\"vm\":null,\"sourceVersion\":null}", PeerMessage.class);
        assertEquals("invalid prepare from the peer: id is missing", refused(m));
        PeerMessage empty = ControlCodec.mapper().readValue("{\"type\":\"prepare\"}", PeerMessage.class);
        assertEquals("invalid prepare from the peer: id is missing", refused(empty));
        PeerMessage.Prepare g = good();
        // the description is the description validator's to judge (REFUSED, "description: missing")
        assertDoesNotThrow(() -> PeerValues.check(new PeerMessage.Prepare(g.id(), g.strategy(), g.chunkSize(), g.disks(),
                null, null, g.vm(), null)));
        PeerMessage nullDisk = ControlCodec.mapper().readValue("{\"type\":\"prepare\",\"id\":\"m1\",\"strategy\":\"hybrid\","
                + "\"chunkSize\":262144,\"disks\":[null]}", PeerMessage.class);
        assertTrue(refused(nullDisk).contains("disks[0] is null"), refused(nullDisk));
    }

    @Test
    void everyOtherMessageIsChecked() {
        assertDoesNotThrow(() -> PeerValues.check(new PeerMessage.Prepared(List.of("/srv/images/web1.qcow2", "/srv/images/d.raw"), TOKEN)));
        assertTrue(refused(new PeerMessage.Prepared(null, TOKEN)).contains("prepared from the peer: images names 0 images"));
        assertTrue(refused(new PeerMessage.Prepared(java.util.Arrays.asList((String) null), TOKEN)).contains("images[0] is missing"));
        assertTrue(refused(new PeerMessage.Prepared(List.of("/x"), null)).contains("token is missing"));
        assertTrue(refused(new PeerMessage.Prepared(List.of("/x"), "!!")).contains("token is not base64"));
        assertTrue(refused(new PeerMessage.Prepared(List.of("/x"), "AAAA")).contains("token is 3 bytes"));
        assertTrue(refused(new PeerMessage.Progress(1, 1, 0, 0, null, List.of(5L, -1L))).contains("missingPerDisk[1]"));
        assertDoesNotThrow(() -> PeerValues.check(new PeerMessage.Prepared(List.of("/srv/images/web1.qcow2"), TOKEN, 65536)));
        assertTrue(refused(new PeerMessage.Prepared(List.of("/srv/images/web1.qcow2"), TOKEN, 65535)).contains("dedupChunk"));
        assertDoesNotThrow(() -> PeerValues.check(new PeerMessage.Ready(4444, 10809, null, "disk0", true)));
        assertTrue(refused(new PeerMessage.Ready(0, null, null, null, null)).contains("memoryPort 0 is not a TCP port"));
        assertTrue(refused(new PeerMessage.Ready(70000, null, null, null, null)).contains("memoryPort 70000"));
        assertTrue(refused(new PeerMessage.Ready(4444, -1, null, "disk0", null)).contains("mirrorPort -1"));
        assertTrue(refused(new PeerMessage.Ready(4444, 10809, null, "a b", null)).contains("mirrorExport 'a b'"));
        assertTrue(refused(new PeerMessage.Ready(4444, null, "/run/libvirt/sock", "x", null)).contains("mirrorSocket"));
        assertTrue(refused(new PeerMessage.Progress(-1, 0, 0, 0)).contains("pulledBytes -1 is negative"));
        assertTrue(refused(new PeerMessage.Progress(0, 0, 0, 0, "RUNNING; rm")).contains("qemuStatus"));
        assertTrue(refused(new PeerMessage.Finished(null)).contains("report is not a JSON object"));
        assertTrue(refused(new PeerMessage.Failed(null, "x")).contains("failed from the peer: kind is missing"));
        assertTrue(refused(new PeerMessage.Failed(ErrorKind.FAILED, null)).contains("message is missing"));
        assertDoesNotThrow(() -> PeerValues.check(new PeerMessage.Failed(ErrorKind.FAILED, "line 1\n\tline 2", "running")));
        assertTrue(refused(new PeerMessage.ResumeAt(0, TOKEN)).contains("resume-at from the peer: port 0"));
        assertTrue(refused(new PeerMessage.ResumeAt(7410, "")).contains("token is 0 bytes"));
        assertTrue(refused(new PeerMessage.Cancel("x".repeat(20000))).contains("reason is 20000 characters long"));
        assertDoesNotThrow(() -> PeerValues.check(new PeerMessage.Cancel(null)));
        assertTrue(refused(null).contains("is null"));
    }
}
