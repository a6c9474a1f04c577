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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each field of each control message from a peer: refused with the field named, or accepted. */
class PeerValuesTest {
    private static final JsonNode DESCRIPTION = Descriptions.minimal("disk0").toJson();
    private static final String TOKEN = Base64.getEncoder().encodeToString(new byte[32]);

    private static PeerMessage.Prepare prepare(String id, int chunk, long size, long allocated, String backing, String image,
                                               String target) {
        return new PeerMessage.Prepare(id, "hybrid", chunk, "disk0", "qcow2", size, allocated, backing, image, target, DESCRIPTION,
                "web1", "7.2.0");
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
        assertTrue(refused(new PeerMessage.Prepare(g.id(), g.strategy(), g.chunkSize(), "-drive", g.format(), g.virtualSize(),
                g.allocatedBytes(), null, g.imageName(), null, DESCRIPTION, g.vm(), null)).contains("diskNode '-drive'"));
        assertTrue(refused(new PeerMessage.Prepare(g.id(), g.strategy(), g.chunkSize(), g.diskNode(), "-o backing_file=/etc/shadow",
                g.virtualSize(), g.allocatedBytes(), null, g.imageName(), null, DESCRIPTION, g.vm(), null)).contains("format"));
        assertTrue(refused(new PeerMessage.Prepare(g.id(), "teleport", g.chunkSize(), g.diskNode(), g.format(),
                g.virtualSize(), g.allocatedBytes(), null, g.imageName(), null, DESCRIPTION, g.vm(), null)).contains("teleport"));
        assertTrue(refused(new PeerMessage.Prepare(g.id(), g.strategy(), g.chunkSize(), g.diskNode(), g.format(),
                g.virtualSize(), g.allocatedBytes(), null, g.imageName(), null, DESCRIPTION, "web1\u001b[2J", null)).contains("vm "));
    }

    @Test
    void anAllNullPrepareIsAProtocolErrorNotANullPointer() throws Exception {
        PeerMessage m = ControlCodec.mapper().readValue("{\"type\":\"prepare\",\"id\":null,\"strategy\":null,\"chunkSize\":null,"
                + "\"diskNode\":null,\"format\":null,\"virtualSize\":null,\"allocatedBytes\":null,\"backingFile\":null,"
                + "\"imageName\":null,\"target\":null,\"description\":null,\"vm\":null,\"sourceVersion\":null}", PeerMessage.class);
        assertEquals("invalid prepare from the peer: id is missing", refused(m));
        PeerMessage empty = ControlCodec.mapper().readValue("{\"type\":\"prepare\"}", PeerMessage.class);
        assertEquals("invalid prepare from the peer: id is missing", refused(empty));
        PeerMessage.Prepare g = good();
        // the description is the description validator's to judge (REFUSED, "description: missing")
        assertDoesNotThrow(() -> PeerValues.check(new PeerMessage.Prepare(g.id(), g.strategy(), g.chunkSize(), g.diskNode(),
                g.format(), g.virtualSize(), g.allocatedBytes(), null, g.imageName(), null, null, g.vm(), null)));
    }

    @Test
    void everyOtherMessageIsChecked() {
        assertDoesNotThrow(() -> PeerValues.check(new PeerMessage.Prepared("/srv/images/web1.qcow2", TOKEN)));
        assertTrue(refused(new PeerMessage.Prepared(null, TOKEN)).contains("prepared from the peer: image is missing"));
        assertTrue(refused(new PeerMessage.Prepared("/x", null)).contains("token is missing"));
        assertDoesNotThrow(() -> PeerValues.check(new PeerMessage.Prepared("/srv/images/web1.qcow2", TOKEN, 65536)));
        assertTrue(refused(new PeerMessage.Prepared("/srv/images/web1.qcow2", TOKEN, 65535)).contains("dedupChunk"));
        assertTrue(refused(new PeerMessage.Prepared("/x", "!!")).contains("token is not base64"));
        assertTrue(refused(new PeerMessage.Prepared("/x", "AAAA")).contains("token is 3 bytes"));
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
