package io.vmmig.nbd.server;

import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdErrno;
import io.vmmig.nbd.protocol.NbdMagic;
import io.vmmig.nbd.protocol.NbdOption;
import io.vmmig.nbd.protocol.NbdReplyType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A broken or malicious client gets the error the spec names or a closed connection: never a hang,
 * a write outside the export, or a damaged server (every test ends by checking a fresh connection works).
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NbdServerRobustnessTest {
    private static final int SIZE = 1 << 20;
    private static final int MAX_PAYLOAD = 64 * 1024;

    @TempDir
    Path dir;
    private Path socket;
    private Path rwFile;
    private byte[] rwOriginal;
    private LocalFileBackend rw;
    private LocalFileBackend ro;
    private GatedBackend gated;
    private NbdServer server;

    @BeforeEach
    void start() throws IOException {
        socket = dir.resolve("nbd.sock");
        rwFile = dir.resolve("rw.raw");
        SparseImage.create(rwFile, SIZE, 7, 0, SIZE / 2);
        rwOriginal = Files.readAllBytes(rwFile);
        Path roFile = dir.resolve("ro.raw");
        SparseImage.create(roFile, SIZE, 8, 0, SIZE);
        rw = LocalFileBackend.open(rwFile, false);
        ro = LocalFileBackend.open(roFile, true);
        gated = new GatedBackend(64L * MAX_PAYLOAD);
        server = NbdServer.start(UnixDomainSocketAddress.of(socket), List.of(
                new NbdExport("rw", "", rw), new NbdExport("ro", "", ro), new NbdExport("gated", "", gated)),
                new NbdServerConfig(MAX_PAYLOAD, 4L * MAX_PAYLOAD, 2, 0, java.time.Duration.ofSeconds(2)));
    }

    @AfterEach
    void stop() throws IOException {
        try {
            assertServerStillServes();
            assertEquals(SIZE, Files.size(rwFile), "the export file must never grow");
        } finally {
            server.close();
            rw.close();
            ro.close();
        }
    }

    private RawNbdClient client() throws IOException {
        return new RawNbdClient(socket).greet();
    }

    private void assertServerStillServes() throws IOException {
        try (RawNbdClient c = client()) {
            c.go("ro", false);
            c.request(0, NbdCommand.READ.code, 99, 0, 512, null);
            RawNbdClient.SimpleReply r = c.simpleReply();
            assertEquals(0, r.error());
            assertEquals(99, r.cookie());
            c.read(512);
            c.request(0, NbdCommand.DISC.code, 100, 0, 0, null);
            c.awaitClosed();
        }
    }

    private static void assertError(NbdErrno expected, RawNbdClient.SimpleReply r, long cookie) {
        assertEquals(cookie, r.cookie(), "reply cookie");
        assertEquals(expected.value, r.error(), "errno for request " + cookie);
    }

    @Test
    void badRequestMagicClosesTheConnection() throws IOException {
        try (RawNbdClient c = client()) {
            c.go("rw", false);
            byte[] bad = RequestBytes.encode(0, 0, 1, 0, 512, null);
            bad[3] = 0;
            c.send(bad);
            assertEquals(0, c.awaitClosed(), "no reply to garbage, just a close");
        }
    }

    @Test
    void oversizedWriteClosesTheConnectionWithoutWriting() throws IOException {
        try (RawNbdClient c = client()) {
            c.go("rw", false);
            c.request(0, NbdCommand.WRITE.code, 1, 0, 0xffff_fff0L, new byte[4096]);
            c.awaitClosed();
        }
        assertArrayEquals(rwOriginal, Files.readAllBytes(rwFile));
    }

    @Test
    void invalidRequestsGetTheErrorsTheSpecNamesAndTheStreamStaysInSync() throws IOException {
        try (RawNbdClient c = client()) {
            int tx = c.go("rw", false);
            assertEquals(0, tx & NbdCommand.TX_READ_ONLY);
            c.request(0, NbdCommand.READ.code, 1, SIZE - 512, 1024, null);
            assertError(NbdErrno.EINVAL, c.simpleReply(), 1);
            c.request(0, NbdCommand.WRITE.code, 2, SIZE - 512, 1024, new byte[1024]);
            assertError(NbdErrno.ENOSPC, c.simpleReply(), 2);
            c.request(0, NbdCommand.WRITE_ZEROES.code, 3, SIZE, 1, null);
            assertError(NbdErrno.ENOSPC, c.simpleReply(), 3);
            c.request(0, NbdCommand.TRIM.code, 4, -512L, 1024, null); // offset near 2^64: no overflow
            assertError(NbdErrno.EINVAL, c.simpleReply(), 4);
            c.request(0, 42, 5, 0, 512, null);
            assertError(NbdErrno.EINVAL, c.simpleReply(), 5);
            c.request(NbdCommand.FLAG_NO_HOLE, NbdCommand.READ.code, 6, 0, 512, null);
            assertError(NbdErrno.EINVAL, c.simpleReply(), 6);
            c.request(NbdCommand.FLAG_DF, NbdCommand.READ.code, 7, 0, 512, null); // DF needs structured replies
            assertError(NbdErrno.EINVAL, c.simpleReply(), 7);
            c.request(0, NbdCommand.READ.code, 8, 0, MAX_PAYLOAD + 1, null);
            assertError(NbdErrno.EINVAL, c.simpleReply(), 8);
            c.request(0, NbdCommand.BLOCK_STATUS.code, 9, 0, 512, null);
            assertError(NbdErrno.EINVAL, c.simpleReply(), 9);
            c.request(0, NbdCommand.FLUSH.code, 10, 0, 0, null);
            assertEquals(new RawNbdClient.SimpleReply(0, 10), c.simpleReply(), "FLUSH succeeds");
            byte[] data = new byte[4096];
            new Random(3).nextBytes(data);
            c.request(NbdCommand.FLAG_FUA, NbdCommand.WRITE.code, 11, SIZE - 4096, 4096, data);
            assertEquals(new RawNbdClient.SimpleReply(0, 11), c.simpleReply());
            c.request(0, NbdCommand.READ.code, 12, SIZE - 4096, 4096, null);
            assertEquals(new RawNbdClient.SimpleReply(0, 12), c.simpleReply());
            assertArrayEquals(data, c.read(4096).array());
        }
        byte[] expected = rwOriginal.clone();
        byte[] last = new byte[4096];
        new Random(3).nextBytes(last);
        System.arraycopy(last, 0, expected, SIZE - 4096, 4096);
        assertArrayEquals(expected, Files.readAllBytes(rwFile), "only the valid write may change the file");
    }

    @Test
    void writesToAReadOnlyExportGetEperm() throws IOException {
        try (RawNbdClient c = client()) {
            int tx = c.go("ro", false);
            assertTrue((tx & NbdCommand.TX_READ_ONLY) != 0);
            c.request(0, NbdCommand.WRITE.code, 1, 0, 512, new byte[512]);
            assertError(NbdErrno.EPERM, c.simpleReply(), 1);
            c.request(0, NbdCommand.WRITE_ZEROES.code, 2, 0, 512, null);
            assertError(NbdErrno.EPERM, c.simpleReply(), 2);
            c.request(0, NbdCommand.TRIM.code, 3, 0, 512, null);
            assertError(NbdErrno.EPERM, c.simpleReply(), 3);
        }
    }

    @Test
    void structuredRepliesCarryErrorChunksHolesAndBlockStatus() throws IOException {
        try (RawNbdClient c = client()) {
            int tx = c.go("rw", true, NbdReplyType.META_BASE_ALLOCATION);
            assertTrue((tx & NbdCommand.TX_SEND_DF) != 0);
            c.request(0, NbdCommand.READ.code, 1, SIZE, 512, null);
            RawNbdClient.Chunk err = c.chunk();
            assertEquals(NbdReplyType.ERROR, err.type());
            assertEquals(NbdReplyType.FLAG_DONE, err.flags());
            assertEquals(NbdErrno.EINVAL.value, err.payload().getInt(0));
            // first half data, second half hole: one data chunk then one hole chunk
            c.request(0, NbdCommand.READ.code, 2, SIZE / 2 - 4096, 8192, null);
            RawNbdClient.Chunk data = c.chunk();
            assertEquals(NbdReplyType.OFFSET_DATA, data.type());
            assertEquals(0, data.flags());
            assertEquals(SIZE / 2 - 4096, data.payload().getLong(0));
            byte[] got = new byte[4096];
            data.payload().position(8).get(got);
            assertArrayEquals(java.util.Arrays.copyOfRange(rwOriginal, SIZE / 2 - 4096, SIZE / 2), got);
            RawNbdClient.Chunk hole = c.chunk();
            assertEquals(NbdReplyType.OFFSET_HOLE, hole.type());
            assertEquals(NbdReplyType.FLAG_DONE, hole.flags());
            assertEquals(SIZE / 2, hole.payload().getLong(0));
            assertEquals(4096, hole.payload().getInt(8));
            // DF: one data chunk with the zeroes explicit
            c.request(NbdCommand.FLAG_DF, NbdCommand.READ.code, 3, SIZE / 2 - 4096, 8192, null);
            RawNbdClient.Chunk df = c.chunk();
            assertEquals(NbdReplyType.OFFSET_DATA, df.type());
            assertEquals(NbdReplyType.FLAG_DONE, df.flags());
            assertEquals(8 + 8192, df.payload().remaining());
            // block status with REQ_ONE: exactly one extent, not longer than asked
            c.request(NbdCommand.FLAG_REQ_ONE, NbdCommand.BLOCK_STATUS.code, 4, 0, 4096, null);
            RawNbdClient.Chunk bs = c.chunk();
            assertEquals(NbdReplyType.BLOCK_STATUS, bs.type());
            assertEquals(12, bs.payload().remaining());
            assertEquals(4096, bs.payload().getInt(4));
            assertEquals(0, bs.payload().getInt(8));
            c.request(0, NbdCommand.BLOCK_STATUS.code, 5, 0, SIZE, null);
            RawNbdClient.Chunk all = c.chunk();
            assertEquals(4 + 16, all.payload().remaining(), "data extent then hole extent");
            assertEquals(SIZE / 2, all.payload().getInt(4));
            assertEquals(NbdReplyType.STATE_HOLE | NbdReplyType.STATE_ZERO, all.payload().getInt(16));
        }
    }

    @Test
    void negotiationGarbageGetsOptionErrorsOrAClose() throws IOException {
        try (RawNbdClient c = client()) {
            c.option(99, new byte[]{1, 2, 3});
            assertEquals(NbdOption.REP_ERR_UNSUP, c.optionReply().type());
            c.option(NbdOption.GO.code, new byte[]{0, 0, 0, 9, 'r'}); // name length past the data
            assertEquals(NbdOption.REP_ERR_INVALID, c.optionReply().type());
            c.option(NbdOption.GO.code, RawNbdClient.infoRequest("nope"));
            assertEquals(NbdOption.REP_ERR_UNKNOWN, c.optionReply().type());
            c.option(NbdOption.SET_META_CONTEXT.code, RawNbdClient.metaRequest("rw", "base:allocation"));
            assertEquals(NbdOption.REP_ERR_INVALID, c.optionReply().type(), "meta contexts need structured replies");
            c.option(NbdOption.LIST.code, new byte[]{1});
            assertEquals(NbdOption.REP_ERR_INVALID, c.optionReply().type());
            c.option(NbdOption.STARTTLS.code, new byte[0]);
            assertEquals(NbdOption.REP_ERR_UNSUP, c.optionReply().type());
            c.option(NbdOption.STRUCTURED_REPLY.code, new byte[0]);
            assertEquals(NbdOption.REP_ACK, c.optionReply().type());
            c.option(NbdOption.LIST_META_CONTEXT.code, RawNbdClient.metaRequest("rw", "base:"));
            List<RawNbdClient.OptionReply> list = c.optionReplies();
            assertEquals(2, list.size());
            assertEquals(NbdOption.REP_META_CONTEXT, list.get(0).type());
            assertEquals("base:allocation", new String(list.get(0).data().array(), 4, list.get(0).data().remaining() - 4));
            // after all that, GO still works
            c.option(NbdOption.GO.code, RawNbdClient.infoRequest("rw", NbdOption.INFO_BLOCK_SIZE));
            List<RawNbdClient.OptionReply> go = c.optionReplies();
            assertEquals(NbdOption.REP_ACK, go.get(go.size() - 1).type());
            ByteBuffer bsz = go.stream().filter(r -> r.data().remaining() == 14).findFirst().orElseThrow().data();
            assertEquals(MAX_PAYLOAD, bsz.getInt(10), "maximum payload advertised");
        }
        try (RawNbdClient c = client()) {
            c.send(ByteBuffer.allocate(16).putLong(0x1122334455667788L).putInt(7).putInt(0).array());
            assertEquals(0, c.awaitClosed(), "bad option magic: close without reply");
        }
        try (RawNbdClient c = client()) {
            c.send(ByteBuffer.allocate(16).putLong(NbdMagic.IHAVEOPT).putInt(NbdOption.GO.code).putInt(1 << 30).array());
            RawNbdClient.OptionReply r = c.optionReply();
            assertEquals(NbdOption.REP_ERR_TOO_BIG, r.type());
            c.awaitClosed();
        }
        try (RawNbdClient c = new RawNbdClient(socket)) {
            c.read(18);
            c.send(ByteBuffer.allocate(4).putInt(0x80).array()); // unknown client flag
            c.awaitClosed();
        }
    }

    @Test
    void exportNameEndsNegotiationTheOldWayAndUnknownNamesAreDropped() throws IOException {
        try (RawNbdClient c = client()) {
            c.option(NbdOption.EXPORT_NAME.code, "ro".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            ByteBuffer reply = c.read(10); // NO_ZEROES was negotiated: size + flags only
            assertEquals(SIZE, reply.getLong());
            int flags = reply.getShort() & 0xffff;
            assertTrue((flags & NbdCommand.TX_HAS_FLAGS) != 0 && (flags & NbdCommand.TX_READ_ONLY) != 0, "flags " + flags);
            c.request(0, NbdCommand.CACHE.code, 1, 0, 4096, null);
            assertEquals(new RawNbdClient.SimpleReply(0, 1), c.simpleReply(), "CACHE succeeds");
            c.request(0, NbdCommand.READ.code, 2, 4096, 512, null);
            assertEquals(new RawNbdClient.SimpleReply(0, 2), c.simpleReply());
            c.read(512);
        }
        try (RawNbdClient c = new RawNbdClient(socket)) {
            c.read(18);
            c.send(ByteBuffer.allocate(4).putInt(NbdMagic.CLIENT_FLAG_FIXED_NEWSTYLE).array()); // zeroes wanted
            c.option(NbdOption.EXPORT_NAME.code, new byte[0]); // default export: the first one
            ByteBuffer reply = c.read(10 + 124);
            assertEquals(SIZE, reply.getLong());
            for (int i = 10; i < 134; i++) assertEquals(0, reply.get(i));
        }
        try (RawNbdClient c = client()) {
            c.option(NbdOption.EXPORT_NAME.code, "missing".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            assertEquals(0, c.awaitClosed(), "EXPORT_NAME cannot report errors: the server just closes");
        }
    }

    @Test
    void aClientStallingInTheHandshakeIsDisconnected() throws IOException {
        try (RawNbdClient c = new RawNbdClient(socket)) {
            c.read(18);
            c.send(new byte[]{0, 0}); // half of the client flags, then nothing
            long t0 = System.nanoTime();
            c.awaitClosed();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 1000 && ms < 9000, "closed after " + ms + " ms, handshake timeout is 2 s");
        }
    }

    @Test
    void pipelinedRequestsAreAllAnsweredWithTheRightData() throws IOException {
        try (RawNbdClient c = client()) {
            c.go("rw", false);
            Random rnd = new Random(11);
            Map<Long, Integer> readOffsets = new HashMap<>();
            java.io.ByteArrayOutputStream burst = new java.io.ByteArrayOutputStream();
            for (long cookie = 1; cookie <= 200; cookie++) {
                int off = rnd.nextInt(SIZE / 4096) * 4096;
                readOffsets.put(cookie, off);
                burst.writeBytes(RequestBytes.encode(0, NbdCommand.READ.code, cookie, off, 4096, null));
            }
            c.send(burst.toByteArray());
            for (int i = 0; i < 200; i++) {
                RawNbdClient.SimpleReply r = c.simpleReply();
                assertEquals(0, r.error());
                Integer off = readOffsets.remove(r.cookie());
                assertTrue(off != null, "unexpected or duplicate cookie " + r.cookie());
                assertArrayEquals(java.util.Arrays.copyOfRange(rwOriginal, off, off + 4096), c.read(4096).array());
            }
            assertTrue(readOffsets.isEmpty());
        }
    }

    @Test
    void pendingReadsHoldNoThreadsAndTheInFlightBudgetStopsTheReader() throws Exception {
        try (RawNbdClient c = client()) {
            c.go("gated", false);
            int requests = 32; // 32 x 64 KiB = 2 MiB of reads against a 256 KiB budget and 2 worker threads
            java.io.ByteArrayOutputStream burst = new java.io.ByteArrayOutputStream();
            for (int i = 0; i < requests; i++) {
                burst.writeBytes(RequestBytes.encode(0, NbdCommand.READ.code, i, (long) i * MAX_PAYLOAD, MAX_PAYLOAD, null));
            }
            c.send(burst.toByteArray());
            assertTrue(gated.awaitPending(4, java.time.Duration.ofSeconds(10)), "reads did not reach the backend: " + gated.pendingCount());
            // more reads pending than worker threads: a pending read does not hold a thread
            assertEquals(4, gated.pendingCount(), "budget of 256 KiB admits exactly 4 reads of 64 KiB");
            gated.open();
            for (int i = 0; i < requests; i++) {
                RawNbdClient.SimpleReply r = c.simpleReply();
                assertEquals(0, r.error());
                ByteBuffer data = c.read(MAX_PAYLOAD);
                long base = r.cookie() * MAX_PAYLOAD;
                for (int k = 0; k < MAX_PAYLOAD; k += 4093) assertEquals(GatedBackend.byteAt(base + k), data.get(k));
            }
            assertEquals(4, gated.maxPending(), "the reader never exceeded the in-flight budget");
        }
    }
}
