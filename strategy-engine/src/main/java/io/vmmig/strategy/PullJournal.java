package io.vmmig.strategy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.Optional;

/**
 * What the destination's pull has done, on disk, so that a restarted agent goes on from there: the
 * hand-over ({@code handover.bin}, written once, atomically: temporary file, fsync, rename) and an
 * append-only journal ({@code journal.bin}, each record fsync'd before the step it records takes
 * effect). {@link PullQueue} writes it:
 * <ul>
 * <li>a guest write claiming sectors of a missing chunk is journaled before the write is issued to
 * the store (else a restart would pull the source's bytes over the guest's);</li>
 * <li>an installed chunk is journaled before the chunk counts as present (once present, guest writes
 * into it are no longer tracked: a restart that pulled it again would undo them).</li>
 * </ul>
 *
 * <p>Formats (big-endian): {@code handover.bin} is {@code u32 chunks} (of the disk), {@code u32 n},
 * then {@code n} times {@code u32 chunk, u32 writeCount} (the REMAINING frame's body).
 * {@code journal.bin} is a sequence of 13-byte records {@code u8 kind, u32 chunk, u32 a, u32 b}:
 * kind 1 = installed (a = b = 0), kind 2 = guest claimed sectors {@code [a, b)} of a chunk of
 * {@code chunkSectors} sectors (given when the queue is restored). A torn last record (the agent
 * died in the middle of writing it) is ignored: its step had not taken effect.
 */
public final class PullJournal implements AutoCloseable {
    static final byte INSTALLED = 1;
    static final byte CLAIMED = 2;
    private static final int RECORD = 13;
    public static final String HANDOVER = "handover.bin";
    public static final String JOURNAL = "journal.bin";

    /** A journal that keeps nothing (tests, strategies without a pull). */
    public static final PullJournal NONE = new PullJournal(null, null);

    private final Path dir;
    private final FileChannel out;

    private PullJournal(Path dir, FileChannel out) {
        this.dir = dir;
        this.out = out;
    }

    /** Starts a new journal in {@code dir} (created), with the hand-over {@code set}. */
    public static PullJournal create(Path dir, RemainingSet set) throws IOException {
        Files.createDirectories(dir);
        Path tmp = dir.resolve(HANDOVER + ".tmp");
        BitSet chunks = set.chunks();
        ByteBuffer b = ByteBuffer.allocate(8 + 8 * set.size());
        b.putInt(set.counts().chunks()).putInt(set.size());
        for (int c = chunks.nextSetBit(0); c >= 0; c = chunks.nextSetBit(c + 1)) b.putInt(c).putInt(set.counts().get(c));
        b.flip();
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
        Files.deleteIfExists(dir.resolve(JOURNAL));
        Files.move(tmp, dir.resolve(HANDOVER), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return new PullJournal(dir, FileChannel.open(dir.resolve(JOURNAL), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND));
    }

    /**
     * The queue as the journal in {@code dir} left it, journaling on from there; empty if there is no
     * hand-over in {@code dir}. Installed chunks are present, guest-claimed sectors claimed (and
     * landed: the store holds them, or QEMU sends the write again on reconnecting).
     *
     * @param chunkSectors sectors of a chunk ({@code chunkSize / 512}); the last chunk may have fewer
     * @param lastChunkSectors sectors of the last chunk
     */
    public static Optional<PullQueue> restore(Path dir, int chunkSectors, int lastChunkSectors) throws IOException {
        if (!Files.isRegularFile(dir.resolve(HANDOVER))) return Optional.empty();
        ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(HANDOVER)));
        int chunks = h.getInt();
        int n = h.getInt();
        BitSet set = new BitSet(chunks);
        int[] counts = new int[chunks];
        for (int i = 0; i < n; i++) {
            int c = h.getInt();
            counts[c] = h.getInt();
            set.set(c);
        }
        PullQueue q = new PullQueue(new RemainingSet(set, WriteCounts.of(counts)));
        Path j = dir.resolve(JOURNAL);
        if (Files.isRegularFile(j)) {
            ByteBuffer r = ByteBuffer.wrap(Files.readAllBytes(j));
            while (r.remaining() >= RECORD) {
                byte kind = r.get();
                int c = r.getInt();
                int a = r.getInt();
                int b = r.getInt();
                if (kind == INSTALLED) q.restorePresent(c);
                else if (kind == CLAIMED) q.restoreClaim(c, a, b, c == chunks - 1 ? lastChunkSectors : chunkSectors);
                else throw new IOException(j + ": unknown record kind " + kind);
            }
        }
        q.journalTo(new PullJournal(dir, FileChannel.open(j, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)));
        return Optional.of(q);
    }

    void installed(int chunk) {
        append(INSTALLED, chunk, 0, 0);
    }

    void claimed(int chunk, int fromSector, int toSector) {
        append(CLAIMED, chunk, fromSector, toSector);
    }

    private void append(byte kind, int chunk, int a, int b) {
        if (out == null) return;
        ByteBuffer rec = ByteBuffer.allocate(RECORD).put(kind).putInt(chunk).putInt(a).putInt(b).flip();
        try {
            synchronized (this) {
                while (rec.hasRemaining()) out.write(rec);
                out.force(false);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot journal the pull in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** The directory, or null for {@link #NONE}. */
    public Path dir() {
        return dir;
    }

    @Override
    public void close() {
        if (out == null) return;
        try {
            out.close();
        } catch (IOException e) {
            // nothing more to journal
        }
    }
}
