package io.vmmig.nbd.server;

import io.vmmig.nbd.backend.LocalFileBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Our server against the real tools: qemu-img, qemu-io, nbdinfo, nbdcopy. Integrity is checked byte for byte. */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NbdServerInteropTest {
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);
    private static final long MiB = 1 << 20;
    private static final long SIZE = 32 * MiB;

    @TempDir
    Path dir;
    private Path socket;
    private Path source;
    private Path target;
    private LocalFileBackend sourceBackend;
    private LocalFileBackend targetBackend;
    private NbdServer server;

    @BeforeEach
    void start() throws IOException {
        socket = dir.resolve("nbd.sock");
        source = dir.resolve("source.raw");
        target = dir.resolve("target.raw");
        // data, a 4 MiB hole, data, a 16 MiB hole, a small unaligned data run, hole to the end
        SparseImage.create(source, SIZE, 42, 0, 4 * MiB, 8 * MiB, 2 * MiB + 4096, 28 * MiB + 512, 1000);
        SparseImage.create(target, SIZE, 0);
        sourceBackend = LocalFileBackend.open(source, true);
        targetBackend = LocalFileBackend.open(target, false);
        server = NbdServer.start(UnixDomainSocketAddress.of(socket), List.of(
                new NbdExport("src", "read-only source image", sourceBackend),
                new NbdExport("dst", "", targetBackend)));
    }

    @AfterEach
    void stop() throws IOException {
        if (server != null) server.close();
        if (sourceBackend != null) sourceBackend.close();
        if (targetBackend != null) targetBackend.close();
    }

    private String uri(String export) {
        return "nbd+unix:///" + export + "?socket=" + socket;
    }

    @Test
    void qemuImgConvertReadsTheExportByteForByte() throws Exception {
        Path copy = dir.resolve("copy.raw");
        ExternalCommand.runOk(TOOL_TIMEOUT, "qemu-img", "convert", "-f", "raw", "-O", "raw", uri("src"), copy.toString());
        assertEquals(-1, Files.mismatch(source, copy), "qemu-img convert copy differs from the source");
    }

    @Test
    void qemuImgConvertOverTcp() throws Exception {
        try (NbdServer tcp = NbdServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                List.of(new NbdExport("src", "", sourceBackend)))) {
            int port = ((InetSocketAddress) tcp.address()).getPort();
            Path copy = dir.resolve("copy-tcp.raw");
            ExternalCommand.runOk(TOOL_TIMEOUT, "qemu-img", "convert", "-f", "raw", "-O", "raw",
                    "nbd://127.0.0.1:" + port + "/src", copy.toString());
            assertEquals(-1, Files.mismatch(source, copy), "copy over TCP differs from the source");
        }
    }

    @Test
    void qemuIoWritesLandInTheBackingFileAndReadBack() throws Exception {
        ExternalCommand.Result r = ExternalCommand.runOk(TOOL_TIMEOUT, "qemu-io", "-f", "raw",
                "-c", "write -P 0xab 4096 65536",
                "-c", "write -P 0xcd 1048576 8192",
                "-c", "write -P 0x5a 33546240 8192", // the last 8 KiB of the export
                "-c", "flush",
                "-c", "read -P 0xab 4096 65536",
                "-c", "read -P 0xcd 1048576 8192",
                "-c", "read -P 0 0 4096",
                uri("dst"));
        assertTrue(!r.stdout().contains("Pattern verification failed"), r.stdout());
        byte[] expected = new byte[(int) SIZE];
        java.util.Arrays.fill(expected, 4096, 4096 + 65536, (byte) 0xab);
        java.util.Arrays.fill(expected, 1048576, 1048576 + 8192, (byte) 0xcd);
        java.util.Arrays.fill(expected, (int) SIZE - 8192, (int) SIZE, (byte) 0x5a);
        assertArrayEquals(expected, Files.readAllBytes(target), "backing file does not hold exactly the written bytes");
    }

    @Test
    void nbdinfoShowsSizeFlagsAndExports() throws Exception {
        String json = ExternalCommand.runOk(TOOL_TIMEOUT, "nbdinfo", "--json", uri("src")).stdout();
        assertTrue(json.contains("\"export-size\": " + SIZE), json);
        assertTrue(json.contains("\"is_read_only\": true"), json);
        assertTrue(json.contains("\"can_flush\": true"), json);
        assertTrue(json.contains("\"description\": \"read-only source image\""), json);
        for (String field : List.of("\"protocol\": \"newstyle-fixed\"", "\"structured\": true", "\"base:allocation\"",
                "\"can_df\": true", "\"can_cache\": true", "\"can_multi_conn\": true", "\"block_size_minimum\": 1",
                "\"block_size_preferred\": 4096", "\"block_size_maximum\": 33554432")) {
            assertTrue(json.contains(field), "nbdinfo lacks " + field + " in\n" + json);
        }
        String dst = ExternalCommand.runOk(TOOL_TIMEOUT, "nbdinfo", "--json", uri("dst")).stdout();
        assertTrue(dst.contains("\"is_read_only\": false"), dst);
        assertTrue(dst.contains("\"can_trim\": true"), dst);
        assertTrue(dst.contains("\"can_zero\": true"), dst);
        assertTrue(dst.contains("\"can_fast_zero\": true"), dst);
        assertTrue(dst.contains("\"can_fua\": true"), dst);
        String list = ExternalCommand.runOk(TOOL_TIMEOUT, "nbdinfo", "--list", "--json", "nbd+unix:///?socket=" + socket).stdout();
        assertTrue(list.contains("\"export-name\": \"src\"") && list.contains("\"export-name\": \"dst\""), list);
    }

    @Test
    void nbdinfoMapAndQemuImgMapShowTheHoles() throws Exception {
        String map = ExternalCommand.runOk(TOOL_TIMEOUT, "nbdinfo", "--map", uri("src")).stdout();
        List<long[]> extents = parseNbdinfoMap(map);
        long[][] expected = {
                {0, 4 * MiB, 0}, {4 * MiB, 4 * MiB, 3}, {8 * MiB, 2 * MiB + 4096, 0},
                {10 * MiB + 4096, 18 * MiB - 4096, 3}, {28 * MiB, 4096, 0}, {28 * MiB + 4096, 4 * MiB - 4096, 3}};
        assertEquals(expected.length, extents.size(), map);
        for (int i = 0; i < expected.length; i++) assertArrayEquals(expected[i], extents.get(i), "extent " + i + " of\n" + map);
        String qmap = ExternalCommand.runOk(TOOL_TIMEOUT, "qemu-img", "map", "--output=json", "-f", "raw", uri("src")).stdout();
        for (long[] e : expected) {
            boolean hole = e[2] == 3;
            Pattern p = Pattern.compile("\"start\": " + e[0] + ", \"length\": " + e[1] + ",[^}]*\"zero\": " + hole
                    + ", \"data\": " + !hole);
            assertTrue(p.matcher(qmap).find(), "qemu-img map lacks " + java.util.Arrays.toString(e) + " in\n" + qmap);
        }
    }

    /** Lines of {@code nbdinfo --map}: offset, length, type. */
    private static List<long[]> parseNbdinfoMap(String map) {
        List<long[]> out = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^\\s*(\\d+)\\s+(\\d+)\\s+(\\d+)").matcher(map);
        while (m.find()) out.add(new long[]{Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))});
        return out;
    }

    @Test
    void nbdcopyIntoTheServerWritesExactBytesAndKeepsHolesSparse() throws Exception {
        ExternalCommand.runOk(TOOL_TIMEOUT, "nbdcopy", source.toString(), uri("dst"));
        assertEquals(-1, Files.mismatch(source, target), "nbdcopy target differs from the source");
        long srcBlocks = SparseImage.allocatedBlocks(source);
        long dstBlocks = SparseImage.allocatedBlocks(target);
        assertTrue(dstBlocks <= srcBlocks + 64, "target allocated " + dstBlocks + " blocks, source " + srcBlocks);
    }

    @Test
    void writeZeroesAndTrimPunchHolesAndNoHoleKeepsAllocation() throws Exception {
        ExternalCommand.runOk(TOOL_TIMEOUT, "qemu-io", "-f", "raw", "-c", "write -P 0x11 0 16M", uri("dst"));
        long full = SparseImage.allocatedBlocks(target);
        assertTrue(full >= 16 * MiB / 512, "16 MiB written but only " + full + " blocks allocated");
        ExternalCommand.runOk(TOOL_TIMEOUT, "qemu-io", "-f", "raw",
                "-c", "write -z -u 0 4M",      // WRITE_ZEROES, holes allowed
                "-c", "discard 4M 4M",         // TRIM
                "-c", "write -z 8M 4M",        // WRITE_ZEROES with NO_HOLE
                "-c", "flush",
                uri("dst"));
        long after = SparseImage.allocatedBlocks(target);
        assertTrue(after <= full - 8 * MiB / 512, "write-zeroes/trim left " + after + " blocks of " + full);
        assertTrue(after >= full - 8 * MiB / 512 - 64, "NO_HOLE write-zeroes deallocated: " + after + " of " + full);
        byte[] bytes = Files.readAllBytes(target);
        for (int i = 0; i < 12 * MiB; i++) if (bytes[i] != 0) throw new AssertionError("byte " + i + " not zeroed: " + bytes[i]);
        for (int i = (int) (12 * MiB); i < 16 * MiB; i++) if (bytes[i] != 0x11) throw new AssertionError("byte " + i + " lost: " + bytes[i]);
        try (FileChannel ch = FileChannel.open(target, StandardOpenOption.READ)) {
            assertEquals(SIZE, ch.size(), "file size must not change");
        }
    }
}
