package io.vmmig.strategy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vmmig.nbd.backend.LocalFileBackend;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The disks of a migration in one address space, and the backends that cut it back into disks. */
class DiskLayoutTest {
    private static final int CHUNK = 4096;

    @TempDir Path dir;

    @Test
    void disksFollowEachOtherRoundedUpToWholeChunksExceptTheLast() {
        DiskLayout l = DiskLayout.of(List.of("a", "b", "c"), List.of(10_000L, 8192L, 5000L), CHUNK);
        assertEquals(List.of(0L, 12_288L, 20_480L), l.disks().stream().map(DiskLayout.Disk::base).toList());
        assertEquals(25_480L, l.totalSize(), "the last disk is not padded");
        assertEquals(7, l.geometry().count());
        assertEquals(0, l.firstChunk(0));
        assertEquals(3, l.firstChunk(1));
        assertEquals(5, l.endChunk(1));
        assertEquals(7, l.endChunk(2));
        assertEquals("a", l.diskAt(12_287).name(), "the padding after a disk belongs to it");
        assertEquals("b", l.diskAt(12_288).name());
        assertEquals("c", l.diskAt(25_479).name());
        assertThrows(IllegalArgumentException.class, () -> l.diskAt(25_480));
        BitSet chunks = new BitSet();
        chunks.set(1);
        chunks.set(3, 7);
        assertArrayEquals(new int[] {1, 2, 2}, l.countPerDisk(chunks));
    }

    @Test
    void oneDiskIsTheAddressSpaceByteForByte() {
        DiskLayout l = DiskLayout.single("disk0", 10_000L, CHUNK);
        assertEquals(10_000L, l.totalSize());
        assertEquals(new ChunkGeometry(10_000L, CHUNK), l.geometry());
        assertEquals(0L, l.disk(0).base());
    }

    @Test
    void badLayoutsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> DiskLayout.of(List.of(), List.of(), CHUNK));
        assertThrows(IllegalArgumentException.class, () -> DiskLayout.of(List.of("a"), List.of(1L, 2L), CHUNK));
        assertThrows(IllegalArgumentException.class, () -> DiskLayout.of(List.of("a"), List.of(-1L), CHUNK));
        assertThrows(IllegalArgumentException.class, () -> DiskLayout.of(List.of("a"), List.of(1L), 3000));
    }

    private LocalFileBackend file(String name, long size) throws Exception {
        Path p = dir.resolve(name);
        try (var f = java.nio.channels.FileChannel.open(p, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            f.position(size - 1).write(ByteBuffer.wrap(new byte[1]));
        }
        return LocalFileBackend.open(p, false);
    }

    @Test
    void aRangeOverTwoDisksIsCutAtTheirBoundaryAndThePaddingReadsAsZeroes() throws Exception {
        DiskLayout l = DiskLayout.of(List.of("a", "b"), List.of(6000L, 8192L), CHUNK);
        try (LocalFileBackend a = file("a.raw", 6000); LocalFileBackend b = file("b.raw", 8192)) {
            DiskSetBackend set = new DiskSetBackend(l, List.of(a, b));
            assertEquals(8192 + 8192, set.size());
            byte[] all = new byte[(int) set.size()];
            new Random(7).nextBytes(all);
            set.write(0, ByteBuffer.wrap(all), false).join();   // the padding [6000, 8192) is dropped
            byte[] inA = Files.readAllBytes(dir.resolve("a.raw"));
            byte[] inB = Files.readAllBytes(dir.resolve("b.raw"));
            assertEquals(6000, inA.length, "nothing written past disk a");
            assertArrayEquals(java.util.Arrays.copyOfRange(all, 0, 6000), inA);
            assertArrayEquals(java.util.Arrays.copyOfRange(all, 8192, 16_384), inB);
            ByteBuffer back = ByteBuffer.allocate((int) set.size());
            set.read(0, back).join();
            byte[] expected = all.clone();
            java.util.Arrays.fill(expected, 6000, 8192, (byte) 0);
            assertArrayEquals(expected, back.array(), "disk a, zeroes for its padding, disk b");
            assertEquals(back.capacity(), back.position(), "the whole buffer is filled");
            // disk b seen alone: its own offsets, its own size
            var window = DiskWindow.of(set, l, 1);
            assertEquals(8192, window.size());
            ByteBuffer w = ByteBuffer.allocate(100);
            window.read(10, w).join();
            assertArrayEquals(java.util.Arrays.copyOfRange(all, 8192 + 10, 8192 + 110), w.array());
            assertThrows(IllegalArgumentException.class, () -> set.read(16_000, ByteBuffer.allocate(1000)));
        }
    }

    @Test
    void oneDiskGoesThroughUntouched() throws Exception {
        DiskLayout l = DiskLayout.single("a", 6000L, CHUNK);
        try (LocalFileBackend a = file("a.raw", 6000)) {
            DiskSetBackend set = new DiskSetBackend(l, List.of(a));
            assertEquals(6000, set.size());
            assertSame(set, DiskWindow.of(set, l, 0), "no window on the one disk");
        }
    }
}
