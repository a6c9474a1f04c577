package io.vmmig.strategy.dedup;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.function.IntPredicate;
import java.util.function.LongConsumer;

/**
 * The fingerprint index's table: open addressing with linear probing in a memory-mapped file, 16 bytes
 * a slot: {@code u64 key} (the first 8 bytes of the chunk's SHA-256, big-endian) and {@code u64
 * location} ({@code fileId << 32 | chunkIndex}, 0 = empty slot; file ids start at 1). The key only
 * pre-filters: every candidate is read and its full SHA-256 compared before use
 * ({@link LocalChunkMatcher}). Entries of a file that changed or vanished stay until the next
 * {@link #rebuild}, skipped because their file id is no longer live.
 *
 * <p>File layout, big-endian: a 64-byte header ({@code "VMMIGFP1"}, u32 version 1, u32 chunk size,
 * u64 capacity in slots, zero padding), then {@code capacity} slots. Not thread-safe: the
 * {@link FingerprintIndex} locks around it.
 */
final class FingerprintTable implements AutoCloseable {
    static final int SLOT = 16;
    static final int HEADER = 64;
    private static final long MAGIC = 0x564D4D4947465031L;   // "VMMIGFP1"
    private static final int SEGMENT_SLOTS = 1 << 26;           // 1 GiB of slots per mapping
    /** Grow (or compact) when more than this share of the slots is taken. */
    static final double MAX_LOAD = 0.8;

    private final Path file;
    private final int chunkSize;
    private final long capacity;
    private final FileChannel channel;
    private final MappedByteBuffer[] segments;
    private long used;

    private FingerprintTable(Path file, int chunkSize, long capacity, FileChannel channel) throws IOException {
        this.file = file;
        this.chunkSize = chunkSize;
        this.capacity = capacity;
        this.channel = channel;
        int n = (int) ((capacity + SEGMENT_SLOTS - 1) / SEGMENT_SLOTS);
        segments = new MappedByteBuffer[n];
        for (int i = 0; i < n; i++) {
            long slots = Math.min(SEGMENT_SLOTS, capacity - (long) i * SEGMENT_SLOTS);
            segments[i] = channel.map(FileChannel.MapMode.READ_WRITE, HEADER + (long) i * SEGMENT_SLOTS * SLOT, slots * SLOT);
            segments[i].order(ByteOrder.BIG_ENDIAN);
        }
    }

    /** A new empty table (replacing any file there). */
    static FingerprintTable create(Path file, int chunkSize, long capacity) throws IOException {
        if (capacity < 16) capacity = 16;
        Files.deleteIfExists(file);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(HEADER);
        h.putLong(MAGIC).putInt(1).putInt(chunkSize).putLong(capacity).clear();
        ch.write(h, 0);
        ch.truncate(HEADER + capacity * SLOT);   // (sparse: slots are zero = empty)
        if (ch.size() < HEADER + capacity * SLOT) ch.write(java.nio.ByteBuffer.allocate(1), HEADER + capacity * SLOT - 1);
        return new FingerprintTable(file, chunkSize, capacity, ch);
    }

    /** Opens a table written before; null if there is none or it is not one of ours at this chunk size. */
    static FingerprintTable open(Path file, int chunkSize) throws IOException {
        if (!Files.isRegularFile(file)) return null;
        FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(HEADER);
        ch.read(h, 0);
        h.flip();
        if (h.remaining() < HEADER || h.getLong() != MAGIC || h.getInt() != 1 || h.getInt() != chunkSize) {
            ch.close();
            return null;
        }
        long capacity = h.getLong();
        if (capacity < 16 || ch.size() != HEADER + capacity * SLOT) {
            ch.close();
            return null;
        }
        FingerprintTable t = new FingerprintTable(file, chunkSize, capacity, ch);
        t.used = t.countUsed();
        return t;
    }

    /** Entries whose file is live (a scan of the table). */
    long countMatching(IntPredicate live) {
        long n = 0;
        for (long s = 0; s < capacity; s++) {
            long loc = location(s);
            if (loc != 0 && live.test(fileOf(loc))) n++;
        }
        return n;
    }

    private long countUsed() {
        long n = 0;
        for (long s = 0; s < capacity; s++) if (location(s) != 0) n++;
        return n;
    }

    static long key(byte[] sha256) {
        long k = 0;
        for (int i = 0; i < 8; i++) k = (k << 8) | (sha256[i] & 0xFF);
        return k;
    }

    static long location(int fileId, long chunkIndex) {
        if (fileId < 1 || chunkIndex < 0 || chunkIndex > 0xFFFF_FFFFL) throw new IllegalArgumentException("location " + fileId + "/" + chunkIndex);
        return ((long) fileId << 32) | chunkIndex;
    }

    static int fileOf(long location) { return (int) (location >>> 32); }

    static long chunkOf(long location) { return location & 0xFFFF_FFFFL; }

    private long keyAt(long slot) {
        return segments[(int) (slot / SEGMENT_SLOTS)].getLong((int) (slot % SEGMENT_SLOTS) * SLOT);
    }

    private long location(long slot) {
        return segments[(int) (slot / SEGMENT_SLOTS)].getLong((int) (slot % SEGMENT_SLOTS) * SLOT + 8);
    }

    private void put(long slot, long key, long location) {
        MappedByteBuffer seg = segments[(int) (slot / SEGMENT_SLOTS)];
        int at = (int) (slot % SEGMENT_SLOTS) * SLOT;
        seg.putLong(at, key);
        seg.putLong(at + 8, location);
    }

    private long home(long key) {
        return Long.remainderUnsigned(key, capacity);
    }

    /**
     * Adds a chunk unless a live entry has the same key already (the same bytes indexed once is
     * enough); a dead entry with that key is overwritten. False if the table is full (grow first).
     */
    boolean insert(long key, long location, IntPredicate live) {
        if (used + 1 > capacity * MAX_LOAD) return false;
        for (long s = home(key), probes = 0; probes < capacity; s = (s + 1 == capacity ? 0 : s + 1), probes++) {
            long loc = location(s);
            if (loc == 0) {
                put(s, key, location);
                used++;
                return true;
            }
            if (keyAt(s) == key) {
                if (!live.test(fileOf(loc))) put(s, key, location);
                return true;
            }
        }
        return false;
    }

    /** Every live location under this key, in probe order. */
    void lookup(long key, IntPredicate live, LongConsumer found) {
        for (long s = home(key), probes = 0; probes < capacity; s = (s + 1 == capacity ? 0 : s + 1), probes++) {
            long loc = location(s);
            if (loc == 0) return;
            if (keyAt(s) == key && live.test(fileOf(loc))) found.accept(loc);
        }
    }

    /** A new table of {@code newCapacity} slots with the live entries only, in place of this one (closed). */
    FingerprintTable rebuild(long newCapacity, IntPredicate live) throws IOException {
        Path next = file.resolveSibling(file.getFileName() + ".new");
        FingerprintTable t = create(next, chunkSize, newCapacity);
        for (long s = 0; s < capacity; s++) {
            long loc = location(s);
            if (loc != 0 && live.test(fileOf(loc)) && !t.insert(keyAt(s), loc, live))
                throw new IllegalStateException("rebuilt table of " + newCapacity + " slots too small");
        }
        t.force();
        t.close();
        close();
        Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return open(file, chunkSize);
    }

    void force() {
        for (MappedByteBuffer m : segments) m.force();
    }

    long capacity() { return capacity; }

    long used() { return used; }

    long fileBytes() { return HEADER + capacity * SLOT; }

    int chunkSize() { return chunkSize; }

    @Override
    public void close() throws IOException {
        channel.close();   // the mappings go with the buffers' collection
    }
}
