package io.vmmig.nbd.client;

import io.vmmig.testkit.HostCommand;
import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdErrno;
import io.vmmig.nbd.protocol.NbdException;
import io.vmmig.nbd.protocol.NbdOption;
import io.vmmig.nbd.protocol.NbdReplyType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The client against a real qemu-nbd, byte for byte. */
class QemuNbdInteropTest {
    static final int K = 1024, M = 1024 * 1024;

    @TempDir
    Path dir;

    static byte[] pattern(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] array(ByteBuffer b) {
        ByteBuffer d = b.duplicate().clear();
        byte[] a = new byte[d.remaining()];
        d.get(a);
        return a;
    }

    private NbdClient connect(QemuNbdFixture s, NbdClientOptions o) throws NbdException {
        return NbdClient.connect(s.socket, o);
    }

    @Test
    void readsKnownDataSplitAboveTheMaximumBlockSize() throws Exception {
        byte[] data = pattern(40 * M, 1);
        Path img = dir.resolve("data.raw");
        Files.write(img, data);
        try (QemuNbdFixture s = QemuNbdFixture.start(dir, "data", img, "raw", "-r");
             NbdClient c = connect(s, NbdClientOptions.of("data"))) {
            ExportInfo info = c.export();
            assertEquals(40L * M, info.size());
            assertTrue(info.readOnly());
            assertTrue(info.structuredReplies());
            assertTrue(info.maximumBlockSize() > 0 && info.maximumBlockSize() < 40 * M, "max block " + info.maximumBlockSize());
            ByteBuffer all = ByteBuffer.allocateDirect(40 * M);
            NbdClient.await(c.read(0, all));   // split into several requests
            assertArrayEquals(data, array(all));
            ByteBuffer odd = ByteBuffer.allocate(100_003);
            odd.position(3);   // reads fill from the position, which stays where it was
            NbdClient.await(c.read(7 * M + 13, odd));
            assertEquals(3, odd.position());
            assertArrayEquals(Arrays.copyOfRange(data, 7 * M + 13, 7 * M + 13 + 100_000), Arrays.copyOfRange(odd.array(), 3, 100_003));
        }
    }

    @Test
    void readsHolesAsZeroesWithStructuredAndSimpleReplies() throws Exception {
        Path img = dir.resolve("sparse.raw");
        byte[] chunk = pattern(64 * K, 2);
        try (FileChannel f = FileChannel.open(img, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.wrap(chunk), M);
            f.write(ByteBuffer.wrap(new byte[1]), 4 * M - 1);
        }
        byte[] expected = new byte[4 * M];
        System.arraycopy(chunk, 0, expected, M, chunk.length);
        try (QemuNbdFixture s = QemuNbdFixture.start(dir, "sparse", img, "raw", "-r")) {
            for (boolean structured : new boolean[] {true, false}) {
                try (NbdClient c = connect(s, NbdClientOptions.of("sparse").withStructuredReplies(structured))) {
                    assertEquals(structured, c.export().structuredReplies());
                    ByteBuffer dst = ByteBuffer.allocate(4 * M);
                    Arrays.fill(dst.array(), (byte) 0xee);   // holes must overwrite this
                    NbdClient.await(c.read(0, dst));
                    assertArrayEquals(expected, dst.array(), "structured=" + structured);
                }
            }
        }
    }

    @Test
    void writeZeroTrimFlushChangeTheFileExactly() throws Exception {
        Path img = dir.resolve("rw.raw");
        byte[] model = pattern(8 * M, 3);
        Files.write(img, model);
        try (QemuNbdFixture s = QemuNbdFixture.start(dir, "rw", img, "raw", "--discard=unmap", "--cache=writethrough")) {
            try (NbdClient c = connect(s, NbdClientOptions.of("rw"))) {
                ExportInfo info = c.export();
                assertFalse(info.readOnly());
                assertTrue(info.has(NbdCommand.TX_SEND_FLUSH) && info.has(NbdCommand.TX_SEND_TRIM)
                        && info.has(NbdCommand.TX_SEND_WRITE_ZEROES) && info.has(NbdCommand.TX_SEND_FUA), "flags " + info.transmissionFlags());
                byte[] w1 = pattern(300 * K + 5, 4);
                NbdClient.await(c.write(123_457, ByteBuffer.wrap(w1), false));
                System.arraycopy(w1, 0, model, 123_457, w1.length);
                byte[] w2 = pattern(M, 5);
                NbdClient.await(c.write(5 * M, ByteBuffer.allocateDirect(M).put(w2).flip(), true));
                System.arraycopy(w2, 0, model, 5 * M, w2.length);
                assertTrue(info.has(NbdCommand.TX_SEND_FAST_ZERO), "qemu-nbd 7.2 advertises fast zero");
                try {   // FAST_ZERO: the server either zeroes fast or fails at once with ENOTSUP
                    NbdClient.await(c.writeZeroes(2 * M + 100, 200 * K, NbdCommand.FLAG_FAST_ZERO | NbdCommand.FLAG_NO_HOLE));
                } catch (NbdServerErrorException e) {
                    assertEquals(NbdErrno.ENOTSUP, e.errno(), e.getMessage());
                    NbdClient.await(c.writeZeroes(2 * M + 100, 200 * K, NbdCommand.FLAG_NO_HOLE));
                }
                Arrays.fill(model, 2 * M + 100, 2 * M + 100 + 200 * K, (byte) 0);
                NbdClient.await(c.writeZeroes(3 * M, M, 0));
                Arrays.fill(model, 3 * M, 4 * M, (byte) 0);
                NbdClient.await(c.trim(6 * M, M, false));   // discard=unmap on a raw file punches a hole: zeroes
                Arrays.fill(model, 6 * M, 7 * M, (byte) 0);
                NbdClient.await(c.cache(0, M));
                NbdClient.await(c.flush());
                ByteBuffer back = ByteBuffer.allocate(8 * M);
                NbdClient.await(c.read(0, back));
                assertArrayEquals(model, back.array(), "read back through NBD");
            }
            assertArrayEquals(model, Files.readAllBytes(img), "file after flush and close");
        }
    }

    /** Collects extents of one context over [0, size), looping as the server may answer partially. */
    static List<Extent> map(NbdClient c, String context, long size) throws NbdException {
        List<Extent> out = new ArrayList<>();
        long at = 0;
        while (at < size) {
            BlockStatus bs = NbdClient.await(c.blockStatus(at, size - at, false));
            List<Extent> ext = bs.extents(context);
            assertFalse(ext.isEmpty(), "no extents for " + context);
            for (Extent e : ext) {
                Extent clipped = new Extent(e.offset(), Math.min(e.end(), size) - e.offset(), e.flags());
                if (!out.isEmpty() && out.get(out.size() - 1).flags() == e.flags() && out.get(out.size() - 1).end() == e.offset()) {
                    Extent last = out.remove(out.size() - 1);
                    out.add(new Extent(last.offset(), clipped.end() - last.offset(), e.flags()));
                } else {
                    out.add(clipped);
                }
            }
            at = out.get(out.size() - 1).end();
        }
        return out;
    }

    static final int HOLE = NbdReplyType.STATE_HOLE | NbdReplyType.STATE_ZERO;

    @Test
    void baseAllocationOfSparseRawAndQcow2() throws Exception {
        Path raw = dir.resolve("sp.raw");
        try (FileChannel f = FileChannel.open(raw, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.wrap(pattern(64 * K, 6)), M);
            f.write(ByteBuffer.wrap(pattern(512 * K, 7)), 3 * M);
        }
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(raw.toFile(), "rw")) {
            f.setLength(4 * M);
        }
        Path qcow = dir.resolve("al.qcow2");
        HostCommand.run("qemu-img", "create", "-f", "qcow2", qcow.toString(), "4M");
        HostCommand.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 128k 64k", "-c", "write -P 0x22 2M 192k", qcow.toString());
        List<Extent> expected = List.of(new Extent(0, M, HOLE), new Extent(M, 64 * K, 0),
                new Extent(M + 64 * K, 2 * M - 64 * K, HOLE), new Extent(3 * M, 512 * K, 0), new Extent(3 * M + 512 * K, 512 * K, HOLE));
        List<Extent> expectedQcow = List.of(new Extent(0, 128 * K, HOLE), new Extent(128 * K, 64 * K, 0),
                new Extent(192 * K, 2 * M - 192 * K, HOLE), new Extent(2 * M, 192 * K, 0), new Extent(2 * M + 192 * K, 2 * M - 192 * K, HOLE));
        try (QemuNbdFixture s = QemuNbdFixture.start(dir, "sp", raw, "raw", "-r");
             NbdClient c = connect(s, NbdClientOptions.of("sp").withMetaContexts(NbdReplyType.META_BASE_ALLOCATION))) {
            assertTrue(c.export().metaContexts().containsKey(NbdReplyType.META_BASE_ALLOCATION));
            assertEquals(expected, map(c, NbdReplyType.META_BASE_ALLOCATION, 4 * M));
            BlockStatus one = NbdClient.await(c.blockStatus(M, 3 * M, true));   // REQ_ONE: a single extent
            assertEquals(List.of(new Extent(M, 64 * K, 0)), one.extents(NbdReplyType.META_BASE_ALLOCATION));
        }
        try (QemuNbdFixture s = QemuNbdFixture.start(dir, "al", qcow, "qcow2", "-r");
             NbdClient c = connect(s, NbdClientOptions.of("al").withMetaContexts(NbdReplyType.META_BASE_ALLOCATION))) {
            assertEquals(expectedQcow, map(c, NbdReplyType.META_BASE_ALLOCATION, 4 * M));
        }
    }

    @Test
    void allocationDepthOfAnOverlay() throws Exception {
        Path base = dir.resolve("base.qcow2");
        Path top = dir.resolve("top.qcow2");
        HostCommand.run("qemu-img", "create", "-f", "qcow2", base.toString(), "4M");
        HostCommand.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 64k", "-c", "write -P 0x12 1M 128k", base.toString());
        HostCommand.run("qemu-img", "create", "-f", "qcow2", "-b", base.toString(), "-F", "qcow2", top.toString());
        HostCommand.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x21 1M 64k", "-c", "write -P 0x22 2M 64k", top.toString());
        String depth = NbdReplyType.META_ALLOCATION_DEPTH;
        String alloc = NbdReplyType.META_BASE_ALLOCATION;
        try (QemuNbdFixture s = QemuNbdFixture.start(dir, "top", top, "qcow2", "-r", "-A");
             NbdClient c = connect(s, NbdClientOptions.of("top").withMetaContexts(alloc, depth))) {
            assertEquals(2, c.export().metaContexts().size(), "negotiated " + c.export().metaContexts());
            assertEquals(List.of(new Extent(0, 64 * K, 2), new Extent(64 * K, M - 64 * K, 0), new Extent(M, 64 * K, 1),
                    new Extent(M + 64 * K, 64 * K, 2), new Extent(M + 128 * K, M - 128 * K, 0), new Extent(2 * M, 64 * K, 1),
                    new Extent(2 * M + 64 * K, 2 * M - 64 * K, 0)), map(c, depth, 4 * M));
            // base:allocation merges the chain
            assertEquals(List.of(new Extent(0, 64 * K, 0), new Extent(64 * K, M - 64 * K, HOLE), new Extent(M, 128 * K, 0),
                    new Extent(M + 128 * K, M - 128 * K, HOLE), new Extent(2 * M, 64 * K, 0), new Extent(2 * M + 64 * K, 2 * M - 64 * K, HOLE)),
                    map(c, alloc, 4 * M));
            ByteBuffer b = ByteBuffer.allocate(64 * K);
            NbdClient.await(c.read(M + 64 * K, b));
            byte[] fromBase = new byte[64 * K];
            Arrays.fill(fromBase, (byte) 0x12);
            assertArrayEquals(fromBase, b.array());
        }
    }

    @Test
    void dirtyBitmapMatchesWrittenRangesAtGranularity() throws Exception {
        Path img = dir.resolve("bm.qcow2");
        HostCommand.run("qemu-img", "create", "-f", "qcow2", img.toString(), "8M");
        HostCommand.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x01 0 1M", img.toString());   // before the bitmap: clean
        HostCommand.run("qemu-img", "bitmap", "--add", "--granularity", "65536", img.toString(), "b0");
        HostCommand.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 64k", "-c", "write -P 0x01 3000k 10k",
                "-c", "write -P 0x02 6M 200k", img.toString());
        String ctx = NbdReplyType.META_DIRTY_BITMAP_PREFIX + "b0";
        try (QemuNbdFixture s = QemuNbdFixture.start(dir, "bm", img, "qcow2", "-r", "-B", "b0");
             NbdClient c = connect(s, NbdClientOptions.of("bm").withMetaContexts(ctx, NbdReplyType.META_DIRTY_BITMAP_PREFIX + "nope"))) {
            assertEquals(List.of(ctx), List.copyOf(c.export().metaContexts().keySet()), "unknown bitmap is not negotiated");
            long g = 64 * K;
            long a = 3000 * K / g * g, b = (3010 * K + g - 1) / g * g;
            assertEquals(List.of(new Extent(0, M, 0), new Extent(M, g, 1), new Extent(M + g, a - M - g, 0), new Extent(a, b - a, 1),
                    new Extent(b, 6 * M - b, 0), new Extent(6 * M, 256 * K, 1), new Extent(6 * M + 256 * K, 2 * M - 256 * K, 0)),
                    map(c, ctx, 8 * M));
        }
    }

    @Test
    @SuppressWarnings("try")   // closes the client explicitly to test use after close
    void serverErrorsLocalRefusalsAndOptionErrors() throws Exception {
        Path img = dir.resolve("err.raw");
        byte[] data = pattern(M, 8);
        Files.write(img, data);
        try (QemuNbdFixture s = QemuNbdFixture.start(dir, "err", img, "raw", "-r")) {
            try (NbdClient c = connect(s, NbdClientOptions.of("err").withCheckBounds(false))) {
                NbdServerErrorException e = assertThrows(NbdServerErrorException.class,
                        () -> NbdClient.await(c.read(M - 4096, ByteBuffer.allocate(8192))));
                assertEquals(NbdErrno.EINVAL, e.errno(), e.getMessage());
                assertEquals(NbdCommand.READ, e.command());
                // the connection survives a server error
                ByteBuffer ok = ByteBuffer.allocate(4096);
                NbdClient.await(c.read(M - 4096, ok));
                assertArrayEquals(Arrays.copyOfRange(data, M - 4096, M), ok.array());
                NbdRefusedException ro = assertThrows(NbdRefusedException.class,
                        () -> NbdClient.await(c.write(0, ByteBuffer.allocate(512), false)));
                assertTrue(ro.getMessage().contains("read-only"), ro.getMessage());
                NbdRefusedException bs = assertThrows(NbdRefusedException.class, () -> NbdClient.await(c.blockStatus(0, 4096, false)));
                assertTrue(bs.getMessage().contains("meta context"), bs.getMessage());
            }
            try (NbdClient c = connect(s, NbdClientOptions.of("err"))) {
                NbdRefusedException e = assertThrows(NbdRefusedException.class, () -> NbdClient.await(c.read(M - 4096, ByteBuffer.allocate(8192))));
                assertTrue(e.getMessage().contains("past the end"), e.getMessage());
                c.close();
                NbdRefusedException closed = assertThrows(NbdRefusedException.class, () -> NbdClient.await(c.read(0, ByteBuffer.allocate(1))));
                assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
            }
            NbdOptionException unknown = assertThrows(NbdOptionException.class, () -> connect(s, NbdClientOptions.of("no-such-export")));
            assertEquals(NbdOption.GO.code, unknown.option());
            assertEquals(NbdOption.REP_ERR_UNKNOWN, unknown.replyType(), unknown.getMessage());
            assertTrue(unknown.getMessage().contains("NBD_OPT_GO") && unknown.getMessage().contains("no-such-export"), unknown.getMessage());

            List<ExportListing> list = NbdClient.listExports(UnixDomainSocketAddress.of(s.socket), Duration.ofSeconds(5));
            assertEquals(List.of("err"), list.stream().map(ExportListing::name).toList());
            ExportInfo info = NbdClient.queryInfo(UnixDomainSocketAddress.of(s.socket), "err", Duration.ofSeconds(5));
            assertEquals(M, info.size());
        }
    }

    @Test
    void manyRequestsInFlightOnOneConnection() throws Exception {
        byte[] data = pattern(16 * M, 9);
        Path img = dir.resolve("many.raw");
        Files.write(img, data);
        try (QemuNbdFixture s = QemuNbdFixture.start(dir, "many", img, "raw", "-r");
             NbdClient c = connect(s, NbdClientOptions.of("many").withInFlight(256, 64 * M))) {
            s.signal("STOP");   // the server takes nothing off the socket: all requests stay in flight
            Random r = new Random(10);
            List<CompletableFuture<Void>> futures = new ArrayList<>();
            List<ByteBuffer> buffers = new ArrayList<>();
            long[] offsets = new long[200];
            for (int i = 0; i < offsets.length; i++) {
                offsets[i] = r.nextInt(16 * M - 8 * K);
                ByteBuffer b = ByteBuffer.allocate(1 + r.nextInt(8 * K));
                buffers.add(b);
                futures.add(c.read(offsets[i], b));
            }
            assertEquals(200, c.pendingRequests());
            assertTrue(futures.stream().noneMatch(CompletableFuture::isDone));
            s.signal("CONT");
            NbdClient.await(CompletableFuture.allOf(futures.toArray(new CompletableFuture<?>[0])));
            for (int i = 0; i < offsets.length; i++) {
                int o = (int) offsets[i];
                assertArrayEquals(Arrays.copyOfRange(data, o, o + buffers.get(i).capacity()), buffers.get(i).array(), "request " + i);
            }
            assertEquals(0, c.pendingRequests());
        }
    }

    @Test
    void deadlinesBackpressureAndLostConnection() throws Exception {
        byte[] data = pattern(M, 11);
        Path img = dir.resolve("slow.raw");
        Files.write(img, data);
        try (QemuNbdFixture s = QemuNbdFixture.start(dir, "slow", img, "raw", "-r")) {
            try (NbdClient c = connect(s, NbdClientOptions.of("slow").withInFlight(4, M).withRequestTimeout(Duration.ofMillis(800)))) {
                s.signal("STOP");
                NbdTimeoutException t = assertThrows(NbdTimeoutException.class, () -> NbdClient.await(c.read(0, ByteBuffer.allocate(4096))));
                assertTrue(t.getMessage().contains("no reply within"), t.getMessage());
                // the timed-out request keeps its slot (the server still owes a reply): three more fill the four slots
                List<CompletableFuture<Void>> four = new ArrayList<>();
                for (int i = 0; i < 3; i++) four.add(c.read(i * 4096L, ByteBuffer.allocate(4096)));
                assertEquals(4, c.pendingRequests());
                // a fifth request waits for a slot, then gives up at its deadline
                NbdTimeoutException full = assertThrows(NbdTimeoutException.class, () -> NbdClient.await(c.read(0, ByteBuffer.allocate(1))));
                assertTrue(full.getMessage().contains("in-flight slot"), full.getMessage());
                for (CompletableFuture<Void> f : four) assertInstanceOf(NbdTimeoutException.class, assertThrows(Exception.class, () -> NbdClient.await(f)));
                s.signal("CONT");
                // late replies of timed-out requests are discarded; the connection still works
                ByteBuffer b = ByteBuffer.allocate(8192);
                NbdClient.await(c.read(4096, b));
                assertArrayEquals(Arrays.copyOfRange(data, 4096, 4096 + 8192), b.array());
            }
            try (NbdClient c = connect(s, NbdClientOptions.of("slow").withRequestTimeout(null))) {
                s.signal("STOP");
                List<CompletableFuture<Void>> futures = new ArrayList<>();
                for (int i = 0; i < 10; i++) futures.add(c.read(i * 512L, ByteBuffer.allocate(512)));
                s.signal("KILL");
                for (CompletableFuture<Void> f : futures) {
                    NbdException e = assertThrows(NbdException.class, () -> NbdClient.await(f));
                    assertInstanceOf(NbdConnectionLostException.class, e, e.toString());
                }
                assertInstanceOf(NbdConnectionLostException.class, assertThrows(NbdException.class, () -> NbdClient.await(c.read(0, ByteBuffer.allocate(1)))));
            }
        }
    }

    @Test
    @SuppressWarnings("try")   // the server is only there to be connected to
    void readsOverTcp() throws Exception {
        byte[] data = pattern(2 * M, 12);
        Path img = dir.resolve("tcp.raw");
        Files.write(img, data);
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        try (QemuNbdFixture s = QemuNbdFixture.start(dir, "tcp", img, "raw", "-r", "-b", "127.0.0.1", "-p", Integer.toString(port));
             NbdClient c = NbdClient.connect(new InetSocketAddress("127.0.0.1", port), NbdClientOptions.of("tcp"))) {
            ByteBuffer b = ByteBuffer.allocateDirect(2 * M);
            NbdClient.await(c.read(0, b));
            assertArrayEquals(data, array(b));
        }
    }
}
