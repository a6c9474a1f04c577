package io.vmmig.strategy.dedup;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * The destination's persistent fingerprint index of the chunks of the images it holds (seed 003):
 * every regular file under the given directories is read in fixed chunks of {@link #chunkSize()}
 * bytes at file offsets (a raw image, or a qcow2 image whose clusters are that size: its guest
 * clusters are whole chunks of the file); every chunk that is not all zero is entered under the
 * first 8 bytes of its SHA-256 with its place ({@link FingerprintTable}). One index per chunk size.
 *
 * <p>Kept in {@code dir}: {@code table} (the memory-mapped slots) and {@code files} (the indexed
 * files: id, path, size, modification time). {@link #refresh} brings it up to date: a file whose size
 * or modification time changed, or that vanished, loses its id (its entries become dead) and a changed
 * one is indexed again under a new id; files modified less than {@code settle} ago are left for the
 * next refresh (an image being written, e.g. a migration's target). It survives restarts: the next
 * {@link #open} keeps what was indexed and only indexes what changed meanwhile.
 */
public final class FingerprintIndex implements ChunkIndex, AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FingerprintIndex.class);
    private static final int FILES_MAGIC = 0x564D4649;   // "VMFI"
    private static final int READ_BLOCK = 4 * 1024 * 1024;
    private static final int INITIAL_SLOTS = 4096;

    /** One indexed file: what it was when it was indexed. */
    public record IndexedFile(int id, Path path, long size, long mtimeMillis) { }

    private final Path dir;
    private final int chunkSize;
    private final List<Path> roots;
    private final Duration settle;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private FingerprintTable table;                                // guarded by lock
    private final Map<Integer, IndexedFile> live = new HashMap<>(); // guarded by lock
    private final Map<Integer, FileChannel> readers = new HashMap<>();  // guarded by itself
    private int nextFileId = 1;                                     // guarded by lock
    private long indexedChunks;                                     // entries offered (incl. duplicates), last refresh
    private final Object refreshing = new Object();

    private FingerprintIndex(Path dir, int chunkSize, List<Path> roots, Duration settle) {
        this.dir = dir;
        this.chunkSize = chunkSize;
        this.roots = List.copyOf(roots);
        this.settle = settle;
    }

    /**
     * Opens (or creates) the index kept in {@code dir} for the files under {@code roots}; call
     * {@link #refresh} to bring it up to date (the agent does so in the background).
     */
    public static FingerprintIndex open(Path dir, int chunkSize, List<Path> roots, Duration settle) throws IOException {
        if (chunkSize < 4096 || Integer.bitCount(chunkSize) != 1)
            throw new IllegalArgumentException("index chunk size must be a power of two >= 4096, got " + chunkSize);
        Files.createDirectories(dir);
        FingerprintIndex ix = new FingerprintIndex(dir.toAbsolutePath(), chunkSize, roots, settle);
        ix.load();
        return ix;
    }

    private void load() throws IOException {
        table = FingerprintTable.open(dir.resolve("table"), chunkSize);
        Path files = dir.resolve("files");
        if (table != null && Files.isRegularFile(files)) {
            try (DataInputStream in = new DataInputStream(Files.newInputStream(files))) {
                if (in.readInt() != FILES_MAGIC || in.readInt() != chunkSize) throw new IOException("not an index file list");
                nextFileId = in.readInt();
                int n = in.readInt();
                for (int i = 0; i < n; i++) {
                    IndexedFile f = new IndexedFile(in.readInt(), Path.of(in.readUTF()), in.readLong(), in.readLong());
                    live.put(f.id(), f);
                }
            } catch (IOException e) {
                LOG.warn("fingerprint index {}: file list unreadable ({}); starting over", dir, e.toString());
                live.clear();
                table.close();
                table = null;
            }
        }
        if (table == null) {
            live.clear();
            table = FingerprintTable.create(dir.resolve("table"), chunkSize, INITIAL_SLOTS);
        }
    }

    /** Writes the file list (after the table's pages are on disk: an entry is never listed before it is durable). */
    private void saveFiles() throws IOException {
        table.force();
        Path tmp = dir.resolve("files.tmp");
        try (DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(tmp)))) {
            out.writeInt(FILES_MAGIC);
            out.writeInt(chunkSize);
            out.writeInt(nextFileId);
            out.writeInt(live.size());
            for (IndexedFile f : live.values()) {
                out.writeInt(f.id());
                out.writeUTF(f.path().toString());
                out.writeLong(f.size());
                out.writeLong(f.mtimeMillis());
            }
        }
        try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            c.force(true);
        }
        Files.move(tmp, dir.resolve("files"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public int chunkSize() {
        return chunkSize;
    }

    /** What one {@link #refresh} did. */
    public record RefreshResult(int filesIndexed, int filesDropped, int filesUnchanged, long chunksRead) { }

    /** Brings the index up to date with the files under the roots now (blocking; one refresh at a time). */
    public RefreshResult refresh() throws IOException {
        synchronized (refreshing) {
            Map<Path, BasicFileAttributes> present = scan();
            List<Path> toIndex = new ArrayList<>();
            int dropped = 0;
            int unchanged = 0;
            lock.writeLock().lock();
            try {
                Map<Path, IndexedFile> byPath = new HashMap<>();
                for (IndexedFile f : live.values()) byPath.put(f.path(), f);
                for (IndexedFile f : byPath.values()) {
                    BasicFileAttributes a = present.get(f.path());
                    if (a != null && a.size() == f.size() && a.lastModifiedTime().toMillis() == f.mtimeMillis()) {
                        unchanged++;
                        continue;
                    }
                    drop(f.id());
                    dropped++;
                }
                for (Map.Entry<Path, BasicFileAttributes> e : present.entrySet()) {
                    IndexedFile f = byPath.get(e.getKey());
                    boolean same = f != null && e.getValue().size() == f.size()
                            && e.getValue().lastModifiedTime().toMillis() == f.mtimeMillis();
                    if (!same) toIndex.add(e.getKey());
                }
                if (dropped > 0) saveFiles();
            } finally {
                lock.writeLock().unlock();
            }
            int indexed = 0;
            long chunks = 0;
            for (Path p : toIndex) {
                long n = indexFile(p);
                if (n >= 0) {
                    indexed++;
                    chunks += n;
                }
            }
            compactIfMostlyDead();
            return new RefreshResult(indexed, dropped, unchanged, chunks);
        }
    }

    private Map<Path, BasicFileAttributes> scan() throws IOException {
        Map<Path, BasicFileAttributes> out = new HashMap<>();
        long settledBefore = System.currentTimeMillis() - settle.toMillis();
        for (Path root : roots) {
            if (!Files.isDirectory(root)) continue;
            try (Stream<Path> s = Files.walk(root, 4)) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    Path abs = p.toAbsolutePath().normalize();
                    if (abs.startsWith(dir)) continue;   // the index itself
                    BasicFileAttributes a;
                    try {
                        a = Files.readAttributes(abs, BasicFileAttributes.class);
                    } catch (NoSuchFileException gone) {
                        continue;
                    }
                    if (!a.isRegularFile() || a.size() < chunkSize || !Files.isReadable(abs)) continue;
                    if (a.lastModifiedTime().toMillis() > settledBefore) continue;   // still being written
                    out.put(abs, a);
                }
            } catch (UncheckedIOException e) {
                LOG.warn("fingerprint index: scanning {} failed: {}", root, e.getCause().toString());
            }
        }
        return out;
    }

    private void drop(int id) {
        live.remove(id);
        synchronized (readers) {
            FileChannel c = readers.remove(id);
            if (c != null) try { c.close(); } catch (IOException ignored) { }
        }
    }

    /** Indexes one file under a new id; the chunks entered, or -1 if it changed while being read (next refresh). */
    private long indexFile(Path p) throws IOException {
        BasicFileAttributes before = Files.readAttributes(p, BasicFileAttributes.class);
        int id;
        lock.writeLock().lock();
        try {
            id = nextFileId++;
            saveFiles();   // the id is taken for good before any entry carries it
        } finally {
            lock.writeLock().unlock();
        }
        MessageDigest md = ChunkDigest.sha256();
        long entered = 0;
        long chunks = before.size() / chunkSize;   // a partial last chunk is not indexed
        if (chunks > 0xFFFF_FFFFL) chunks = 0xFFFF_FFFFL;
        ByteBuffer block = ByteBuffer.allocateDirect(READ_BLOCK);
        long[] keys = new long[READ_BLOCK / chunkSize];
        long[] locs = new long[keys.length];
        try (FileChannel in = FileChannel.open(p, StandardOpenOption.READ)) {
            for (long c = 0; c < chunks; ) {
                int want = (int) Math.min(keys.length, chunks - c);
                block.clear().limit(want * chunkSize);
                long pos = c * chunkSize;
                while (block.hasRemaining()) {
                    int r = in.read(block, pos + block.position());
                    if (r < 0) break;
                }
                block.flip();
                int got = block.remaining() / chunkSize;
                int n = 0;
                for (int i = 0; i < got; i++) {
                    ByteBuffer chunk = block.slice(i * chunkSize, chunkSize);
                    if (isZero(chunk)) continue;
                    md.reset();
                    md.update(chunk);
                    keys[n] = FingerprintTable.key(md.digest());
                    locs[n] = FingerprintTable.location(id, c + i);
                    n++;
                }
                insertAll(id, keys, locs, n);
                entered += n;
                if (got < want) break;
                c += got;
            }
        }
        BasicFileAttributes after = Files.readAttributes(p, BasicFileAttributes.class);
        lock.writeLock().lock();
        try {
            if (after.size() != before.size() || !after.lastModifiedTime().equals(before.lastModifiedTime())) {
                LOG.info("fingerprint index: {} changed while being indexed; again at the next refresh", p);
                return -1;   // its id stays dead
            }
            live.put(id, new IndexedFile(id, p, before.size(), before.lastModifiedTime().toMillis()));
            saveFiles();
        } finally {
            lock.writeLock().unlock();
        }
        synchronized (this) {
            indexedChunks += entered;
        }
        LOG.info("fingerprint index: {} indexed ({} chunks with data)", p, entered);
        return entered;
    }

    private void insertAll(int id, long[] keys, long[] locs, int n) throws IOException {
        lock.writeLock().lock();
        try {
            java.util.function.IntPredicate isLive = f -> f == id || live.containsKey(f);
            for (int i = 0; i < n; i++) {
                while (!table.insert(keys[i], locs[i], isLive)) {
                    // Full (MAX_LOAD): twice the live entries, so the table runs between half and 0.8 full.
                    table = table.rebuild(Math.max(INITIAL_SLOTS, 2 * table.countMatching(isLive) + 16), isLive);
                }
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void compactIfMostlyDead() throws IOException {
        lock.writeLock().lock();
        try {
            long liveEntries = liveEntries();
            if (table.used() > INITIAL_SLOTS && liveEntries < table.used() / 2) {
                java.util.function.IntPredicate isLive = live::containsKey;
                table = table.rebuild(Math.max(INITIAL_SLOTS, 2 * liveEntries + 16), isLive);
                saveFiles();
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    private long liveEntries() {
        return table.countMatching(live::containsKey);   // a scan: only at compaction and in stats
    }

    private static boolean isZero(ByteBuffer b) {
        int i = b.position();
        int end = b.limit();
        for (; i + 8 <= end; i += 8) if (b.getLong(i) != 0) return false;
        for (; i < end; i++) if (b.get(i) != 0) return false;
        return true;
    }

    @Override
    public boolean readCandidates(byte[] sha256, ByteBuffer dst, Predicate<ByteBuffer> accept) throws IOException {
        List<Long> candidates = new ArrayList<>(1);
        lock.readLock().lock();
        try {
            table.lookup(FingerprintTable.key(sha256), live::containsKey, candidates::add);
        } finally {
            lock.readLock().unlock();
        }
        for (long loc : candidates) {
            FileChannel in = reader(FingerprintTable.fileOf(loc));
            if (in == null) continue;
            dst.clear();
            long pos = FingerprintTable.chunkOf(loc) * chunkSize;
            while (dst.hasRemaining()) {
                int r = in.read(dst, pos + dst.position());
                if (r < 0) break;
            }
            if (dst.hasRemaining()) continue;   // the file shrank
            dst.flip();
            if (accept.test(dst)) return true;
        }
        return false;
    }

    /** How many live entries the index has under this fingerprint's key (a table lookup only, nothing read). */
    public int candidateCount(byte[] sha256) {
        int[] n = {0};
        lock.readLock().lock();
        try {
            table.lookup(FingerprintTable.key(sha256), live::containsKey, loc -> n[0]++);
        } finally {
            lock.readLock().unlock();
        }
        return n[0];
    }

    private FileChannel reader(int id) throws IOException {
        synchronized (readers) {
            FileChannel c = readers.get(id);
            if (c != null) return c;
            IndexedFile f;
            lock.readLock().lock();
            try {
                f = live.get(id);
            } finally {
                lock.readLock().unlock();
            }
            if (f == null) return null;
            try {
                c = FileChannel.open(f.path(), StandardOpenOption.READ);
            } catch (NoSuchFileException gone) {
                return null;
            }
            readers.put(id, c);
            return c;
        }
    }

    /** Sizes, for the report and the benchmark. */
    public record Stats(int files, long entries, long liveEntries, long slots, long tableBytes, long indexedBytes) {
        /** Table bytes per live entry. */
        public double bytesPerEntry() { return liveEntries == 0 ? 0 : (double) tableBytes / liveEntries; }
    }

    public Stats stats() {
        lock.readLock().lock();
        try {
            long bytes = 0;
            for (IndexedFile f : live.values()) bytes += f.size();
            return new Stats(live.size(), table.used(), table.countMatching(live::containsKey), table.capacity(), table.fileBytes(), bytes);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** How many files are indexed now (cheap). */
    public int fileCount() {
        lock.readLock().lock();
        try {
            return live.size();
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The files indexed now. */
    public List<IndexedFile> files() {
        lock.readLock().lock();
        try {
            return List.copyOf(live.values());
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void close() throws IOException {
        lock.writeLock().lock();
        try {
            table.force();
            table.close();
        } finally {
            lock.writeLock().unlock();
        }
        synchronized (readers) {
            for (FileChannel c : readers.values()) c.close();
            readers.clear();
        }
    }
}
