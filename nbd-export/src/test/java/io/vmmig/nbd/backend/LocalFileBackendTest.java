package io.vmmig.nbd.backend;

import io.vmmig.nbd.protocol.NbdErrno;
import io.vmmig.nbd.protocol.NbdReplyType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalFileBackendTest {
    private static final int MiB = 1 << 20;
    private static final int HOLE = NbdReplyType.STATE_HOLE | NbdReplyType.STATE_ZERO;

    @TempDir
    Path dir;

    private Path sparse(int size) throws IOException {
        Path p = dir.resolve("disk.raw");
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.setLength(size);
        }
        return p;
    }

    private static ByteBuffer filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return ByteBuffer.wrap(b);
    }

    @Test
    void writeReadAndBlockStatusFollowAllocation() throws Exception {
        Path p = sparse(8 * MiB);
        try (LocalFileBackend b = LocalFileBackend.open(p, false)) {
            assertEquals(8 * MiB, b.size());
            assertEquals(List.of(new Extent(8 * MiB, HOLE)), b.blockStatus(0, 8 * MiB, 100).join());
            b.write(MiB, filled(MiB, 0x42), true).join();
            assertEquals(List.of(new Extent(MiB, HOLE), new Extent(MiB, 0), new Extent(6 * MiB, HOLE)),
                    b.blockStatus(0, 8 * MiB, 100).join());
            assertEquals(List.of(new Extent(MiB, HOLE)), b.blockStatus(0, 8 * MiB, 1).join(), "maxExtents is honoured");
            assertEquals(List.of(new Extent(4096, 0)), b.blockStatus(MiB + 4096, 4096, 100).join(), "clipped to the range");
            ByteBuffer dst = ByteBuffer.allocateDirect(2 * MiB);
            b.read(MiB / 2, dst).join();
            dst.flip();
            for (int i = 0; i < 2 * MiB; i++) {
                int expected = i >= MiB / 2 && i < MiB / 2 + MiB ? 0x42 : 0;
                if (dst.get(i) != (byte) expected) throw new AssertionError("byte " + i + " is " + dst.get(i));
            }
        }
    }

    @Test
    void writeZeroesWithHolesAllowedAndTrimDeallocateButNoHoleKeepsBlocks() throws Exception {
        Path p = sparse(8 * MiB);
        try (LocalFileBackend b = LocalFileBackend.open(p, false)) {
            b.write(0, filled(8 * MiB, 0x77), false).join();
            b.writeZeroes(0, 2 * MiB, true, false, false).join();
            b.trim(2 * MiB, 2 * MiB, false).join();
            b.writeZeroes(4 * MiB, 2 * MiB, false, true, true).join();
            b.flush().join();
            // ZERO_RANGE leaves unwritten (allocated) extents that ext4 reports as holes, so only the
            // last 2 MiB are certainly data; the allocation itself is checked with st_blocks below
            List<Extent> extents = b.blockStatus(0, 8 * MiB, 100).join();
            assertEquals(new Extent(4 * MiB, HOLE), new Extent(extents.get(0).length() >= 4 * MiB ? 4 * MiB : 1, extents.get(0).flags()));
            assertEquals(new Extent(2 * MiB, 0), extents.get(extents.size() - 1));
        }
        long blocks = io.vmmig.nbd.server.SparseImage.allocatedBlocks(p);
        assertTrue(blocks >= 4L * MiB / 512 && blocks < 5L * MiB / 512,
                "punched 4 MiB, kept 4 MiB allocated, but st_blocks is " + blocks);
        byte[] bytes = Files.readAllBytes(p);
        assertEquals(8 * MiB, bytes.length, "size unchanged");
        byte[] expected = new byte[8 * MiB];
        Arrays.fill(expected, 6 * MiB, 8 * MiB, (byte) 0x77);
        assertArrayEquals(expected, bytes);
    }

    @Test
    void unalignedZeroingZeroesExactlyTheRange() throws Exception {
        Path p = sparse(MiB);
        try (LocalFileBackend b = LocalFileBackend.open(p, false)) {
            b.write(0, filled(MiB, 0x13), false).join();
            b.writeZeroes(1000, 10_000, true, false, false).join();
        }
        byte[] bytes = Files.readAllBytes(p);
        for (int i = 0; i < MiB; i++) {
            int expected = i >= 1000 && i < 11_000 ? 0 : 0x13;
            if (bytes[i] != (byte) expected) throw new AssertionError("byte " + i + " is " + bytes[i]);
        }
    }

    @Test
    void readOnlyBackendRefusesWritesAtTheFileLevel() throws Exception {
        Path p = sparse(MiB);
        try (LocalFileBackend b = LocalFileBackend.open(p, true)) {
            assertTrue(b.readOnly());
            CompletionException e = assertThrows(CompletionException.class, () -> b.write(0, filled(512, 1), false).join());
            assertTrue(e.getCause() instanceof BackendException, e.toString());
            assertEquals(NbdErrno.EPERM, ((BackendException) e.getCause()).errno());
            assertThrows(CompletionException.class, () -> b.writeZeroes(0, 512, true, false, false).join());
            assertThrows(CompletionException.class, () -> b.trim(0, 512, false).join());
        }
        assertArrayEquals(new byte[MiB], Files.readAllBytes(p));
    }
}
