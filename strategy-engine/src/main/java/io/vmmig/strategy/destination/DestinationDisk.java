package io.vmmig.strategy.destination;

import static io.vmmig.strategy.destination.ChunkPuller.SECTOR;

import io.vmmig.nbd.backend.BackendCapabilities;
import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.Extent;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.PullQueue;
import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.peer.Frame.Priority;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The destination guest's disk while the migration is not finished: the agent's NBD server serves
 * this backend to the destination QEMU (the xNBD model), so every guest I/O passes here until the
 * disk is complete.
 *
 * <p>Two phases:
 * <ul>
 * <li><b>Before the hand-over</b> (no {@link RemainingSet} yet) the local store may hold pushed
 * chunks that the source rewrote since, so nothing is read from it blindly: a read goes through to
 * the source (the truth until the destination guest writes; QEMU's probe of sector 0 at device
 * creation is served this way), except for chunks the destination guest overwrote whole, which are
 * read locally. A partial-chunk write waits for the hand-over.</li>
 * <li><b>After the hand-over</b> the {@link PullQueue} decides, at 512-byte sector granularity: a
 * write of whole sectors goes to the store at once, also into a missing chunk (its sectors are
 * marked so the pulled bytes are installed around them; a chunk written whole needs no pull); a
 * read of a missing chunk is served locally if the guest's own writes cover it, else the chunk is
 * demanded (pulled before the background order) and the read answered once it is installed.</li>
 * </ul>
 * The {@link ChunkPuller} moves bytes; this class only routes guest I/O.
 */
public final class DestinationDisk implements BlockBackend {
    /** Where guest requests that had to wait resume (see {@link #resume}); idle threads end. */
    private static final java.util.concurrent.Executor RESUMER = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "vmmig-dest-resume");
        t.setDaemon(true);
        return t;
    });
    private final ChunkGeometry geometry;
    private final BlockBackend store;
    private final ChunkSource source;
    private final CompletableFuture<PullQueue> handover = new CompletableFuture<>();
    /** Chunks the destination guest wrote whole before the hand-over (guarded by this). */
    private final BitSet overwrittenEarly = new BitSet();
    private volatile Runnable onDemand = () -> { };
    private volatile java.nio.file.Path journalDir;
    private boolean handedOver;
    /** Chunks that pushed bytes (or a local copy) were written into, ever (guarded by this). */
    private final BitSet stored = new BitSet();
    /** Pushed bytes on their way into the store, by chunk (guarded by this). */
    private final java.util.Map<Integer, CompletableFuture<Void>> pushesInFlight = new java.util.HashMap<>();
    private final GuestWriteStats writeStats = new GuestWriteStats();
    /** Reads before the hand-over wait for it instead of going to the source (see {@link #holdReadsUntilHandover}). */
    private volatile boolean holdReads;
    /** The local data path: this disk is the local image's backing node, read only where the image holds nothing. */
    private volatile ArrivedChunks backingFor;
    private final java.util.concurrent.atomic.AtomicLong readBytes = new java.util.concurrent.atomic.AtomicLong();

    public DestinationDisk(ChunkGeometry geometry, BlockBackend store, ChunkSource source) {
        if (store.size() < geometry.diskSize())
            throw new IllegalArgumentException("local store of " + store.size() + " bytes is smaller than the disk ("
                    + geometry.diskSize() + ")");
        this.geometry = geometry;
        this.store = store;
        this.source = source;
    }

    /** Keep the pull's state in {@code dir} from the hand-over on ({@link io.vmmig.strategy.PullJournal}), so a restart can go on. */
    public void journalIn(java.nio.file.Path dir) {
        this.journalDir = dir;
    }

    /**
     * A restarted agent: the hand-over happened before, {@code q} is the pull as its journal left it
     * (see {@link io.vmmig.strategy.PullJournal#restore}); guest I/O is served from it at once.
     */
    public void resumeFrom(PullQueue q) {
        synchronized (this) {
            if (handedOver) throw new IllegalStateException("hand-over already happened");
            handedOver = true;
        }
        handover.complete(q);
    }

    /** Called whenever a read or partial write demands a chunk, so a puller can wake up at once. */
    public void onDemand(Runnable r) {
        this.onDemand = r;
    }

    /**
     * The source's hand-over arrived: from now on missing chunks are pulled. Chunks the guest here
     * already wrote whole are not pulled. Returns the queue the pullers work from.
     */
    public PullQueue handOver(RemainingSet set) {
        PullQueue q;
        synchronized (this) {
            if (handedOver) throw new IllegalStateException("hand-over already happened");
            handedOver = true;
            BitSet remaining = set.chunks();
            remaining.andNot(overwrittenEarly);
            RemainingSet mine = new RemainingSet(remaining, set.counts());
            q = new PullQueue(mine);
            if (journalDir != null) {
                try {
                    q.journalTo(io.vmmig.strategy.PullJournal.create(journalDir, mine));   // before any guest write may go
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException("cannot keep the pull's state in " + journalDir + ": " + e.getMessage(), e);
                }
            }
        }
        // Outside the monitor: writes that waited for the hand-over continue from here.
        handover.complete(q);
        return q;
    }

    /**
     * Stores a chunk the source pushed before the hand-over, unless the destination guest already
     * wrote that chunk whole (its write is newer than anything the source can send).
     *
     * <p>A push of a chunk whose earlier push is still on its way into the store (the source pushes a
     * rewritten chunk again without waiting for the first one's ACK) is issued only once that one
     * landed: NBD does not order requests in flight (QEMU's export runs them concurrently), so the
     * older bytes could land last and the chunk would stay behind the source for good.
     */
    public CompletableFuture<Void> storePush(long offset, ByteBuffer data) {
        int first = geometry.firstChunk(offset, data.remaining());
        int last = geometry.lastChunk(offset, data.remaining());
        CompletableFuture<Void> stored = new CompletableFuture<>();
        List<CompletableFuture<Void>> earlier = new ArrayList<>();
        synchronized (this) {
            if (handedOver) throw new IllegalStateException("push at " + offset + " after the hand-over");
            if (overwrittenEarly.nextSetBit(first) >= 0 && overwrittenEarly.nextSetBit(first) <= last) {
                return CompletableFuture.completedFuture(null);
            }
            for (int c = first; c <= last; c++) {
                CompletableFuture<Void> p = pushesInFlight.get(c);
                if (p != null) earlier.add(p);
            }
            // (pieces of one chunk, dedup: a guest write of the chunk waits for all of them)
            for (int c = first; c <= last; c++) pushesInFlight.merge(c, stored, (a, b) -> CompletableFuture.allOf(a, b));
            this.stored.set(first, last + 1);
        }
        // The store write is issued outside the monitor: it may block on the store's backpressure,
        // and its completion (on the store's I/O thread) takes the monitor. After an earlier push it
        // is issued on the disk's own thread, never on the store's (see resume).
        CompletableFuture<Void> write = earlier.isEmpty() ? store.write(offset, data, false)
                : CompletableFuture.allOf(earlier.toArray(CompletableFuture[]::new)).handle((v, e) -> null)
                        .thenComposeAsync(v -> store.write(offset, data, false), RESUMER);
        write.whenComplete((v, e) -> {
            synchronized (this) {
                for (int c = first; c <= last; c++) {
                    pushesInFlight.remove(c, stored);
                    pushesInFlight.computeIfPresent(c, (k, f) -> f.isDone() || f == stored ? null : f);
                }
            }
            if (e != null) stored.completeExceptionally(e);
            else stored.complete(null);
        });
        return stored;
    }

    /** The chunks pushed bytes were stored into before the hand-over (a copy): the only ones the store may hold stale. */
    public synchronized BitSet storedChunks() {
        return (BitSet) stored.clone();
    }

    /** How the guest's writes fared: taken at once into missing chunks, or made to wait. */
    public GuestWriteStats.Snapshot writeStats() {
        return writeStats.snapshot();
    }

    /** The pull queue once handed over. */
    public CompletableFuture<PullQueue> handover() {
        return handover;
    }

    public ChunkGeometry geometry() {
        return geometry;
    }

    @Override
    public long size() {
        return geometry.diskSize();
    }

    @Override
    public boolean readOnly() {
        return false;
    }

    @Override
    public BackendCapabilities capabilities() {
        // Without reportAllocation(): everything is reported as data.
        return new BackendCapabilities(true, true, false, false, false, reportAllocation, false);
    }

    /** Block status tells present chunks' holes apart ({@link #blockStatus}); set before the NBD server starts. */
    private volatile boolean reportAllocation;

    /**
     * From now on block status (NBD base:allocation) reports the store's holes in chunks that are present, as zero,
     * and missing chunks as data: a reader that skips zeros (QEMU's mirror of libvirt's block copy onto the final
     * image) reads only the chunks that hold data, and every missing one, which it then waits for like any read.
     * Before the hand-over, with {@link #holdReadsUntilHandover()}, it waits for the hand-over too: until then a
     * pushed chunk may still turn out stale. Call before the disk is exported.
     */
    public void reportAllocation() {
        reportAllocation = true;
    }

    /**
     * From now on a read before the hand-over waits for it: for a source that cannot serve the truth before
     * its final dirty set is known (a libvirt migration: the source's disk is a frozen image under an overlay
     * the running source guest writes, and libvirt resumes the guest here without a hold point).
     */
    public void holdReadsUntilHandover() {
        holdReads = true;
    }

    /**
     * The local data path: from now on this disk is read as the local image's backing node, after the hand-over
     * only, and only where the image holds nothing: a missing chunk is demanded and answered from its pulled bytes
     * ({@code arrived}) without going through the store; anything else is a hole of the source and reads as zeros.
     * Call before the disk is exported.
     */
    void serveAsBacking(ArrivedChunks arrived) {
        this.backingFor = arrived;
        this.holdReads = true;
    }

    private CompletableFuture<Void> readAsBacking(PullQueue q, ArrivedChunks arrived, long offset, ByteBuffer dst) {
        int length = dst.remaining();
        int base = dst.position();
        int first = geometry.firstChunk(offset, length);
        int last = geometry.lastChunk(offset, length);
        List<CompletableFuture<Void>> parts = new ArrayList<>(1);
        boolean demanded = false;
        for (int c = first; c <= last; c++) {
            long chunkStart = geometry.offsetOf(c);
            long start = Math.max(offset, chunkStart);
            long end = Math.min(offset + length, chunkStart + geometry.lengthOf(c));
            ByteBuffer part = dst.slice(base + (int) (start - offset), (int) (end - start));
            CompletableFuture<ByteBuffer> bytes = q.isPresent(c) ? null : arrived.await(c);
            if (bytes == null) {
                // a hole of the source (or a cluster QEMU unallocated itself): zeros
                while (part.hasRemaining()) part.put((byte) 0);
                continue;
            }
            if (!bytes.isDone()) demanded |= !q.demand(c).isDone();
            int from = (int) (start - chunkStart);
            parts.add(bytes.thenAccept(b -> part.put(b.slice(from, part.remaining()))));
        }
        if (demanded) onDemand.run();
        if (parts.isEmpty()) {
            dst.position(base + length);
            return CompletableFuture.completedFuture(null);
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenRun(() -> dst.position(base + length));
    }

    /** Bytes read from this disk (by the destination QEMU, through the agent's export). */
    public long readBytes() {
        return readBytes.get();
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        int length = dst.remaining();
        if (length == 0) return CompletableFuture.completedFuture(null);
        readBytes.addAndGet(length);
        ArrivedChunks arrived = backingFor;
        if (arrived != null) return handover.thenCompose(h -> readAsBacking(h, arrived, offset, dst));
        PullQueue q = handover.getNow(null);
        if (q != null) return resume(afterDemand(q, offset, length), () -> store.read(offset, dst));
        if (holdReads) return handover.thenCompose(h -> resume(afterDemand(h, offset, length), () -> store.read(offset, dst)));
        return readBeforeHandover(offset, dst);
    }

    private CompletableFuture<Void> readBeforeHandover(long offset, ByteBuffer dst) {
        int length = dst.remaining();
        int first = geometry.firstChunk(offset, length);
        int last = geometry.lastChunk(offset, length);
        List<CompletableFuture<Void>> parts = new ArrayList<>(last - first + 1);
        int base = dst.position();
        for (int c = first; c <= last; c++) {
            long start = Math.max(offset, geometry.offsetOf(c));
            long end = Math.min(offset + length, geometry.offsetOf(c) + geometry.lengthOf(c));
            ByteBuffer part = dst.slice(base + (int) (start - offset), (int) (end - start));
            boolean local;
            synchronized (this) {
                local = overwrittenEarly.get(c);
            }
            // (a hand-over racing with this read is harmless: the source still holds the truth)
            parts.add(local ? store.read(start, part) : source.read(start, part, Priority.ON_DEMAND));
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
                .thenRun(() -> dst.position(base + length));
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        int length = src.remaining();
        if (length == 0) return CompletableFuture.completedFuture(null);
        ByteBuffer data = src.duplicate();
        src.position(src.limit());
        return guestWrite(offset, length, () -> store.write(offset, data.duplicate(), fua));
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fastZero, boolean fua) {
        if (length == 0) return CompletableFuture.completedFuture(null);
        return guestWrite(offset, length, () -> store.writeZeroes(offset, length, mayTrim, fastZero, fua));
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        // TRIM is not advertised (capabilities); a trimmed range may read back as anything, so
        // doing nothing is a valid answer and cannot race with a pull.
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return store.flush();
    }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents) {
        long len = Math.min(length, size() - offset);
        PullQueue q = handover.getNow(null);
        if (!reportAllocation || len <= 0 || (q == null && !holdReads)) return CompletableFuture.completedFuture(List.of(new Extent(len, 0)));
        if (q == null) return handover.thenCompose(h -> allocation(h, offset, len, maxExtents));
        return allocation(q, offset, len, maxExtents);
    }

    /** The extents of the run of chunks from {@code offset} that are all present (the store's) or all missing (data). */
    private CompletableFuture<List<Extent>> allocation(PullQueue q, long offset, long len, int maxExtents) {
        int first = geometry.firstChunk(offset, len);
        int last = geometry.lastChunk(offset, len);
        boolean present = q.isPresent(first);
        int end = first;
        while (end < last && q.isPresent(end + 1) == present) end++;
        long runEnd = Math.min(offset + len, geometry.offsetOf(end) + geometry.lengthOf(end));
        // a present chunk changes only by the guest's writes from here on, which its reader (QEMU) sees itself
        if (!present) return CompletableFuture.completedFuture(List.of(new Extent(runEnd - offset, 0)));
        return store.blockStatus(offset, runEnd - offset, maxExtents);
    }

    @Override
    public void close() throws java.io.IOException {
        // The store and the source belong to the caller.
    }

    /**
     * Runs a guest write of {@code [offset, offset+length)}. Before the hand-over: see the class
     * comment. After it, every chunk's part of the write is admitted by the {@link PullQueue}: a
     * part made of whole 512-byte sectors goes to the store at once, even into a missing chunk (its
     * sectors are claimed so the pull will not install over them); a part with a partial sector
     * (QEMU does not send those for a 512-byte-sector disk, but NBD allows them) needs the rest of
     * its sector, so it waits for its chunk to be pulled (read-modify-write through the pull).
     */
    private CompletableFuture<Void> guestWrite(long offset, long length, WriteOp op) {
        int first = geometry.firstChunk(offset, length);
        int last = geometry.lastChunk(offset, length);
        PullQueue q;
        List<CompletableFuture<Void>> pushesFirst = new ArrayList<>();
        synchronized (this) {
            q = handedOver ? handover.join() : null;
            if (q == null) {
                boolean partialEdge = !geometry.covers(offset, length, first) || !geometry.covers(offset, length, last);
                if (partialEdge) {
                    // Its other bytes must come from the source's final version: wait for the hand-over.
                    long t0 = System.nanoTime();
                    return resume(handover, () -> guestWrite(offset, length, op, t0));
                }
                overwrittenEarly.set(first, last + 1);
                for (int c = first; c <= last; c++) {
                    CompletableFuture<Void> p = pushesInFlight.get(c);
                    if (p != null) pushesFirst.add(p);
                }
            }
        }
        if (q == null) {
            // An older pushed copy of these chunks still on its way into the store must land first.
            if (pushesFirst.isEmpty()) return op.run();
            long t0 = System.nanoTime();
            return resume(CompletableFuture.allOf(pushesFirst.toArray(CompletableFuture[]::new)).handle((v, e) -> null),
                    () -> {
                        writeStats.waited(System.nanoTime() - t0);
                        return op.run();
                    });
        }
        return guestWrite(offset, length, op, -1);
    }

    /** After the hand-over; {@code waitingSince} is when the write began waiting already (-1: it did not). */
    private CompletableFuture<Void> guestWrite(long offset, long length, WriteOp op, long waitingSince) {
        PullQueue q = handover.join();
        int first = geometry.firstChunk(offset, length);
        int last = geometry.lastChunk(offset, length);
        // Phase 1: chunks this write touches with a partial sector must be present first. Only then
        // are sectors claimed (phase 2): a claimed write holds its chunk back from PRESENT, so it must
        // never wait for another chunk to become present (two such writes could wait on each other).
        List<CompletableFuture<Void>> wholeChunks = new ArrayList<>();
        boolean demanded = false;
        for (int c = first; c <= last; c++) {
            if (!sectorAligned(offset, length, c)) {
                CompletableFuture<Void> f = q.demand(c);
                demanded |= !f.isDone();
                wholeChunks.add(f);
            }
        }
        if (demanded) onDemand.run();
        if (wholeChunks.stream().allMatch(CompletableFuture::isDone)) {
            return claimAndWrite(q, offset, length, op, waitingSince);
        }
        long t0 = waitingSince >= 0 ? waitingSince : System.nanoTime();
        return resume(CompletableFuture.allOf(wholeChunks.toArray(CompletableFuture[]::new)),
                () -> claimAndWrite(q, offset, length, op, t0));
    }

    private CompletableFuture<Void> claimAndWrite(PullQueue q, long offset, long length, WriteOp op, long waitingSince) {
        int first = geometry.firstChunk(offset, length);
        int last = geometry.lastChunk(offset, length);
        List<PullQueue.GuestWrite> parts = new ArrayList<>(last - first + 1);
        boolean intoMissing = false;
        boolean allReady = true;
        for (int c = first; c <= last; c++) {
            long chunkStart = geometry.offsetOf(c);
            int chunkSectors = (geometry.lengthOf(c) + SECTOR - 1) / SECTOR;
            long start = Math.max(offset, chunkStart) - chunkStart;
            long end = Math.min(offset + length, chunkStart + geometry.lengthOf(c)) - chunkStart;
            // A partial sector here means the chunk is present (phase 1): the sector range is moot.
            PullQueue.GuestWrite w = q.write(c, (int) (start / SECTOR), (int) ((end + SECTOR - 1) / SECTOR), chunkSectors);
            intoMissing |= w.intoMissingChunk();
            allReady &= w.ready().isDone();
            parts.add(w);
        }
        CompletableFuture<Void> ready;
        if (allReady && waitingSince < 0) {
            if (intoMissing) writeStats.takenAtOnce();
            ready = CompletableFuture.completedFuture(null);
        } else {
            long t0 = waitingSince >= 0 ? waitingSince : System.nanoTime();
            ready = CompletableFuture.allOf(parts.stream().map(PullQueue.GuestWrite::ready).toArray(CompletableFuture[]::new))
                    .thenRun(() -> writeStats.waited(System.nanoTime() - t0));
        }
        return resume(ready, op::run).whenComplete((v, e) -> parts.forEach(w -> w.done(e == null)));
    }

    /** Whether the write's part in {@code chunk} is made of whole sectors. */
    private boolean sectorAligned(long offset, long length, int chunk) {
        long chunkStart = geometry.offsetOf(chunk);
        long chunkEnd = chunkStart + geometry.lengthOf(chunk);
        long start = Math.max(offset, chunkStart);
        long end = Math.min(offset + length, chunkEnd);
        return (start - chunkStart) % SECTOR == 0 && ((end - chunkStart) % SECTOR == 0 || end == chunkEnd);
    }

    private CompletableFuture<Void> afterDemand(PullQueue q, long offset, long length) {
        int first = geometry.firstChunk(offset, length);
        int last = geometry.lastChunk(offset, length);
        List<CompletableFuture<Void>> all = new ArrayList<>(last - first + 1);
        boolean demanded = false;
        for (int c = first; c <= last; c++) {
            long chunkStart = geometry.offsetOf(c);
            long start = Math.max(offset, chunkStart) - chunkStart;
            long end = Math.min(offset + length, chunkStart + geometry.lengthOf(c)) - chunkStart;
            CompletableFuture<Void> f = q.read(c, (int) (start / SECTOR), (int) ((end + SECTOR - 1) / SECTOR));
            demanded |= !f.isDone();
            all.add(f);
        }
        if (demanded) onDemand.run();
        return all.size() == 1 ? all.get(0) : CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    /**
     * Runs {@code next} once {@code waited} completes: at once on this thread if it already did,
     * else on the disk's own thread. Never on the thread that completed it: that may be the store's
     * reply reader (a guest write landing releases the reads waiting for its chunk), and a store
     * request issued there while the store's in-flight slots are full would wait for replies only
     * that thread can read.
     */
    private CompletableFuture<Void> resume(CompletableFuture<?> waited, WriteOp next) {
        if (waited.isDone() && !waited.isCompletedExceptionally()) return next.run();
        return waited.thenComposeAsync(v -> next.run(), RESUMER);
    }

    @FunctionalInterface
    private interface WriteOp {
        CompletableFuture<Void> run();
    }
}
