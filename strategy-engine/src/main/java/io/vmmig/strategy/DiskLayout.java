package io.vmmig.strategy;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Where each disk of a migration lives in the migration's one address space: the disks back to back
 * in their order, each but the last rounded up to whole chunks, so that no chunk holds bytes of two
 * disks. Push, pull, write counts, the hand-over and the pull journal all work on this address space
 * with one {@link ChunkGeometry}; only the ends (QEMU's exports at the source, the guest's devices and
 * local images at the destination) see disks apart. One disk is the special case: its base is 0 and
 * the address space is the disk, byte for byte.
 *
 * <p>Both agents compute the layout from the same ordered list of sizes and the chunk size (the
 * PREPARE), so it never goes on the wire.
 */
public final class DiskLayout {
    /** One disk: its name (for messages and reports), its size in bytes and where it starts. */
    public record Disk(int index, String name, long size, long base) {
        /** The end of this disk's bytes in the address space (exclusive). */
        public long end() {
            return base + size;
        }
    }

    private final List<Disk> disks;
    private final int chunkSize;
    private final long totalSize;

    private DiskLayout(List<Disk> disks, int chunkSize, long totalSize) {
        this.disks = List.copyOf(disks);
        this.chunkSize = chunkSize;
        this.totalSize = totalSize;
    }

    /** The layout of disks of {@code sizes}, named {@code names}, in that order. */
    public static DiskLayout of(List<String> names, List<Long> sizes, int chunkSize) {
        Objects.requireNonNull(names, "names");
        Objects.requireNonNull(sizes, "sizes");
        if (names.isEmpty() || names.size() != sizes.size())
            throw new IllegalArgumentException(names.size() + " disk names for " + sizes.size() + " sizes");
        if (chunkSize <= 0 || Integer.bitCount(chunkSize) != 1)
            throw new IllegalArgumentException("chunk size must be a power of two, got " + chunkSize);
        List<Disk> out = new ArrayList<>();
        long base = 0;
        for (int i = 0; i < sizes.size(); i++) {
            long size = sizes.get(i);
            if (size < 0) throw new IllegalArgumentException("disk " + names.get(i) + " of " + size + " bytes");
            out.add(new Disk(i, names.get(i), size, base));
            long padded = i == sizes.size() - 1 ? size : (size + chunkSize - 1) / chunkSize * chunkSize;
            base = Math.addExact(base, padded);
        }
        return new DiskLayout(out, chunkSize, base);
    }

    /** One disk alone: base 0, the address space is the disk. */
    public static DiskLayout single(String name, long size, int chunkSize) {
        return of(List.of(name), List.of(size), chunkSize);
    }

    public List<Disk> disks() {
        return disks;
    }

    public Disk disk(int index) {
        return disks.get(index);
    }

    public int count() {
        return disks.size();
    }

    public int chunkSize() {
        return chunkSize;
    }

    /** Size of the address space: the disks and the padding between them. */
    public long totalSize() {
        return totalSize;
    }

    public ChunkGeometry geometry() {
        return new ChunkGeometry(totalSize, chunkSize);
    }

    /** The disk whose region (its bytes and the padding after them) holds {@code offset}. */
    public Disk diskAt(long offset) {
        if (offset < 0 || offset >= totalSize)
            throw new IllegalArgumentException("offset " + offset + " outside the migration's " + totalSize + " bytes");
        for (int i = disks.size() - 1; i >= 0; i--) if (disks.get(i).base() <= offset) return disks.get(i);
        throw new IllegalStateException("no disk at " + offset);
    }

    /** The first chunk and the chunk after the last of disk {@code index} (padding included). */
    public int firstChunk(int index) {
        return (int) (disks.get(index).base() / chunkSize);
    }

    public int endChunk(int index) {
        return index == disks.size() - 1 ? geometry().count() : firstChunk(index + 1);
    }

    /** How many chunks of {@code chunks} belong to each disk. */
    public int[] countPerDisk(java.util.BitSet chunks) {
        int[] n = new int[disks.size()];
        for (int i = 0; i < disks.size(); i++) {
            int from = firstChunk(i), to = endChunk(i);
            n[i] = from >= to ? 0 : chunks.get(from, to).cardinality();
        }
        return n;
    }

    @Override
    public String toString() {
        return "DiskLayout" + disks + " chunk " + chunkSize;
    }
}
