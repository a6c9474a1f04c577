package io.vmmig.strategy.destination;

import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.PullQueue;
import io.vmmig.strategy.peer.Frame.Priority;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves the missing chunks from the source into the local store after the hand-over: a few
 * background pullers take chunks hottest first from the {@link PullQueue}, and every guest demand
 * starts one more pull at once, so an on-demand chunk never waits behind the background pipeline.
 */
public final class ChunkPuller implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChunkPuller.class);
    /** How often one chunk's pull is retried before the migration fails. */
    static final int MAX_ATTEMPTS = 5;
    /** The unit of the guest-written sector masks ({@link PullQueue#write}). */
    public static final int SECTOR = 512;

    private final ChunkGeometry geometry;
    private final CompletableFuture<PullQueue> handover;
    private volatile PullQueue queue;
    private final ChunkSource source;
    private final BlockBackend store;
    private final ExecutorService workers;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final AtomicLong bytesPulled = new AtomicLong();
    private final AtomicLong bytesLocal = new AtomicLong();
    private final java.util.Map<Integer, Integer> attempts = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean closed;
    private volatile io.vmmig.strategy.source.PushBandwidth backgroundLimit = new io.vmmig.strategy.source.PushBandwidth(0);
    /** Chunks whose bytes arrived from the source (guarded by itself), and arrivals of one already there. */
    private final BitSet fetched = new BitSet();
    private final AtomicLong refetched = new AtomicLong();
    /** Background pulls in flight follow the measured bandwidth-delay product; set at start. */
    private volatile io.vmmig.strategy.InFlightWindow window;
    private final java.util.concurrent.atomic.AtomicInteger backgroundLoops = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicInteger peakLoops = new java.util.concurrent.atomic.AtomicInteger();
    /** Without {@link #holdBackgroundUntilGuestRuns()}: complete, the background pull begins at the hand-over. */
    private final CompletableFuture<Void> guestRunsHere = new CompletableFuture<>();
    private volatile boolean guestRunsHeld;
    /**
     * How long after the hand-over a held background pull waits at most for word that the guest runs here: a
     * missed event costs this much pull time, never the disk (QEMU's device state takes well under a second).
     */
    static final Duration GUEST_RUNS_FALLBACK = Duration.ofSeconds(10);
    /** The local data path: pulled bytes wait here while QEMU copies them in (null: they are written to the store). */
    private volatile ArrivedChunks copyOnRead;
    /** The local data path: completes once the image reads missing clusters from the agent (its backing node). */
    private volatile CompletableFuture<Void> backingAttached;
    private volatile java.util.function.IntPredicate writtenHere = c -> false;
    private final AtomicLong skippedWrittenHere = new AtomicLong();
    /** Most bytes of background pulls in flight, whatever the link (64 MiB: with GAIN 1.5, links up to ~1.7 Gbit/s at 200 ms). */
    public static final long MAX_PULL_WINDOW_BYTES = 64L << 20;

    /**
     * @param handover completes with the queue at the hand-over; the puller may be created and wired
     *                 to the disk's demands before that
     */
    public ChunkPuller(ChunkGeometry geometry, CompletableFuture<PullQueue> handover, ChunkSource source,
                       BlockBackend store) {
        this.geometry = geometry;
        this.handover = handover;
        this.source = source;
        this.store = store;
        this.workers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "vmmig-pull");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts {@code backgroundPullers} loops; the returned future completes when no chunk is missing. */
    public CompletableFuture<Void> start(int backgroundPullers) {
        return start(backgroundPullers, Duration.ZERO);
    }

    /**
     * Like {@link #start(int)}, but the background loops begin only {@code backgroundDelay} after the
     * hand-over; guest demands are pulled at once all the same (a throttle for slow links, and what
     * makes on-demand pulls observable in tests).
     */
    public CompletableFuture<Void> start(int backgroundPullers, Duration backgroundDelay) {
        if (backgroundDelay.isNegative()) throw new IllegalArgumentException("negative background pull delay " + backgroundDelay);
        handover.thenAccept(q -> {
            queue = q;
            if (!guestRunsHeld) guestRunsHere.complete(null);
            // Also when the guest's writes, not pulls, complete the last chunks. Not on the thread that
            // completed the queue (maybe the store's reply reader): what follows done talks to the store.
            q.completion().thenRunAsync(() -> done.complete(null), workers);
            Executor background = backgroundDelay.isZero() ? workers
                    : CompletableFuture.delayedExecutor(backgroundDelay.toMillis(), TimeUnit.MILLISECONDS, workers);
            window = new io.vmmig.strategy.InFlightWindow(geometry.chunkSize(), Math.max(1, backgroundPullers), MAX_PULL_WINDOW_BYTES);
            guestRunsHere.completeOnTimeout(null, GUEST_RUNS_FALLBACK.toMillis(), TimeUnit.MILLISECONDS);
            guestRunsHere.thenRun(() -> {
                for (int i = 0; i < backgroundPullers; i++) {
                    backgroundLoops.incrementAndGet();
                    background.execute(() -> {
                        if (closed || done.isDone()) return;
                        loop();
                    });
                }
                peakLoops.set(backgroundPullers);
            });
        });
        return done;
    }

    /**
     * Holds the background pull, after the hand-over, until {@link #guestRunsHere()} (or a guest demand, or
     * {@link #GUEST_RUNS_FALLBACK} after the hand-over): between the source's pause and the guest running here,
     * QEMU's last memory pages and device state cross the same link, and every pulled byte ahead of them in the
     * link's queue is guest-visible pause. Call before the hand-over; without it the pull starts at the hand-over.
     */
    public void holdBackgroundUntilGuestRuns() {
        guestRunsHeld = true;
    }

    /** The guest runs at the destination (QEMU's incoming migration completed, or libvirt resumed it): pull in the background. */
    public void guestRunsHere() {
        guestRunsHere.complete(null);
    }

    /**
     * A guest demanded one or more chunks: pull every demanded chunk now, beside the background
     * loops (one guest request may demand several chunks but signal once, so this drains them all).
     */
    public void demanded() {
        if (closed) return;
        workers.execute(() -> {
            queue = handover.join();
            PullQueue.Pull p;
            while (!closed && (p = queue.nextDemanded()) != null) {
                guestRunsHere();   // after the hand-over only a running guest demands
                pull(p);
            }
        });
    }

    /**
     * The local data path: a pulled chunk enters the image by QEMU's copy-on-read (NBD CACHE on the store, QEMU's
     * export of the image), which reads the bytes back from {@code arrived} through the agent's export (the image's
     * backing node, attached when {@code attached} completes) and writes only the clusters the guest did not write.
     * Call before the hand-over.
     */
    void installByCopyOnRead(ArrivedChunks arrived, CompletableFuture<Void> attached) {
        this.backingAttached = attached;
        this.copyOnRead = arrived;
    }

    /**
     * Before a background pull, {@code writtenHere} may say the guest wrote the whole chunk here already (the local
     * data path asks QEMU's allocation map): then it is not pulled. Demands are always pulled.
     */
    public void skipWhen(java.util.function.IntPredicate writtenHere) {
        this.writtenHere = writtenHere;
    }

    /** Background pulls skipped because the guest wrote the whole chunk here ({@link #skipWhen}). */
    public long skippedWrittenHere() {
        return skippedWrittenHere.get();
    }

    /** Holds the background pull to {@code bytesPerSecond} (0: no limit); demanded chunks are never held back. */
    public void limitBackground(long bytesPerSecond) {
        limitBackground(new io.vmmig.strategy.source.PushBandwidth(bytesPerSecond));
    }

    /**
     * Holds the background pull to {@code budget}, a bucket other pullers may draw on too (the disks of one
     * libvirt domain, each with a puller of its own, share one link budget); demanded chunks are never held back.
     */
    public void limitBackground(io.vmmig.strategy.source.PushBandwidth budget) {
        backgroundLimit = java.util.Objects.requireNonNull(budget);
    }

    /**
     * After the hand-over, the source's fingerprint of a missing chunk: if nobody pulls it yet and
     * {@code local} finds it among this host's images (verified), it is installed from there instead of
     * pulled. Blocks for the store write; true if the local bytes were installed.
     */
    public boolean installLocal(int chunk, java.util.function.Supplier<ByteBuffer> local) {
        PullQueue q = handover.getNow(null);
        if (q == null || closed || !q.claim(chunk)) return false;
        ByteBuffer buf;
        try {
            buf = local.get();
        } catch (RuntimeException e) {
            buf = null;
        }
        if (buf == null || buf.remaining() != geometry.lengthOf(chunk)) {
            q.unclaim(chunk);
            demanded();   // a guest read that came meanwhile is pulled now, not when the background gets to it
            return false;
        }
        BitSet guestWritten = q.pullArrivedSkipping(chunk);
        if (guestWritten == null) return false;   // the guest wrote the whole chunk meanwhile
        try {
            install(chunk, buf, guestWritten).join();
            bytesLocal.addAndGet(geometry.lengthOf(chunk));
        } catch (RuntimeException e) {
            done.completeExceptionally(new IllegalStateException("storing local copy of chunk " + chunk + " failed", e));
            return false;
        } finally {
            q.installed(chunk);
        }
        if (q.isComplete()) done.complete(null);
        return true;
    }

    /** Bytes installed from this host's own images instead of pulled ({@link #installLocal}). */
    public long bytesLocal() {
        return bytesLocal.get();
    }

    public long bytesPulled() {
        return bytesPulled.get();
    }

    /** Chunks whose bytes came from the source more than once (a resume must keep this at 0). */
    public long refetchedChunks() {
        return refetched.get();
    }

    /** Chunks fetched so far (distinct). */
    public int fetchedChunks() {
        synchronized (fetched) {
            return fetched.cardinality();
        }
    }

    public CompletableFuture<Void> done() {
        return done;
    }

    /** Starts background loops until as many run as the window's depth. */
    private void widen() {
        io.vmmig.strategy.InFlightWindow w = window;
        if (w == null || closed || done.isDone()) return;
        int depth = w.depth();
        int n;
        while ((n = backgroundLoops.get()) < depth) {
            if (!backgroundLoops.compareAndSet(n, n + 1)) continue;
            peakLoops.accumulateAndGet(n + 1, Math::max);
            workers.execute(() -> {
                if (closed || done.isDone()) return;
                loop();
            });
        }
    }

    /** Whether this loop should end because the window narrowed (the loop count is decremented if so). */
    private boolean narrowed() {
        io.vmmig.strategy.InFlightWindow w = window;
        if (w == null) return false;
        int n = backgroundLoops.get();
        return n > w.depth() && backgroundLoops.compareAndSet(n, n - 1);
    }

    /** Background pulls in flight at most so far (the window's peak depth). */
    public int peakBackgroundDepth() {
        return peakLoops.get();
    }

    /** The window's measured round trip (microseconds, -1: none yet) and rate (bytes/s). */
    public long minRttMicros() {
        io.vmmig.strategy.InFlightWindow w = window;
        return w == null ? -1 : w.minRttMicros();
    }

    public double measuredRate() {
        io.vmmig.strategy.InFlightWindow w = window;
        return w == null ? 0 : w.maxRate();
    }

    private void loop() {
        try {
            while (!closed && !done.isDone()) {
                if (narrowed()) return;
                long wait = backgroundLimit.tryTake(geometry.chunkSize(), System.nanoTime());
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(Math.min(wait, TimeUnit.MILLISECONDS.toNanos(200)));
                    continue;
                }
                PullQueue.Pull p = queue.awaitNext(200, TimeUnit.MILLISECONDS);
                if (p != null) {
                    pull(p);
                    widen();
                }
                if (queue.isComplete()) done.complete(null);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            done.completeExceptionally(e);
        }
    }

    private void pull(PullQueue.Pull p) {
        int chunk = p.chunk();
        Priority priority = p.reason() == PullQueue.Reason.ON_DEMAND ? Priority.ON_DEMAND : Priority.BACKGROUND;
        ArrivedChunks skipping = copyOnRead;
        if (priority == Priority.BACKGROUND && writtenHere.test(chunk) && (skipping == null || skipping.installedUnlessAwaited(chunk))) {
            queue.pullArrivedSkipping(chunk);
            queue.installed(chunk);
            skippedWrittenHere.incrementAndGet();
            if (queue.isComplete()) done.complete(null);
            return;
        }
        long offset = geometry.offsetOf(chunk);
        ByteBuffer buf = ByteBuffer.allocate(geometry.lengthOf(chunk));
        long sent = System.nanoTime();
        try {
            source.read(offset, buf, priority).join();
            io.vmmig.strategy.InFlightWindow w = window;
            if (w != null) w.answered(buf.capacity(), sent, System.nanoTime());
        } catch (RuntimeException e) {
            LOG.warn("pulling chunk {} ({}) failed: {}", chunk, p.reason(), e.toString());
            if (attempts.merge(chunk, 1, Integer::sum) >= MAX_ATTEMPTS) {
                done.completeExceptionally(new IllegalStateException(
                        "pulling chunk " + chunk + " failed " + MAX_ATTEMPTS + " times", e));
            } else {
                queue.pullFailed(chunk);
            }
            return;
        }
        synchronized (fetched) {
            if (fetched.get(chunk)) refetched.incrementAndGet();
            fetched.set(chunk);
        }
        BitSet guestWritten = queue.pullArrivedSkipping(chunk);
        if (guestWritten == null) return;   // the guest wrote the whole chunk meanwhile
        try {
            buf.flip();
            install(chunk, buf, guestWritten).join();
            bytesPulled.addAndGet(geometry.lengthOf(chunk));
        } catch (RuntimeException e) {
            done.completeExceptionally(new IllegalStateException("storing pulled chunk " + chunk + " failed", e));
            return;
        } finally {
            queue.installed(chunk);
        }
        if (queue.isComplete()) done.complete(null);
    }

    /** Puts a pulled (or locally found) chunk into the local image: a store write, or QEMU's copy-on-read. */
    private CompletableFuture<Void> install(int chunk, ByteBuffer bytes, BitSet guestWritten) {
        ArrivedChunks arrived = copyOnRead;
        if (arrived == null) return installSkipping(geometry.offsetOf(chunk), bytes, guestWritten);
        arrived.arrived(chunk, bytes);   // guest reads waiting for it are answered now
        return backingAttached.thenCompose(v -> store.cache(geometry.offsetOf(chunk), geometry.lengthOf(chunk)))
                .whenComplete((v, e) -> {
                    if (e == null) arrived.installed(chunk);
                });
    }

    /**
     * Writes the pulled chunk at {@code offset} to the store, except the sectors in
     * {@code guestWritten} (the guest's newer bytes are there or on their way): one store write per
     * run of sectors the guest did not write.
     */
    private CompletableFuture<Void> installSkipping(long offset, ByteBuffer chunk, BitSet guestWritten) {
        if (guestWritten.isEmpty()) return store.write(offset, chunk, false);
        int length = chunk.remaining();
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int from = guestWritten.nextClearBit(0); (long) from * SECTOR < length;
             from = guestWritten.nextClearBit(from)) {
            int to = guestWritten.nextSetBit(from);
            int start = from * SECTOR;
            int end = to < 0 ? length : (int) Math.min(length, (long) to * SECTOR);
            writes.add(store.write(offset + start, chunk.slice(start, end - start), false));
            if (to < 0) break;
            from = to;
        }
        return CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new));
    }

    @Override
    public void close() {
        closed = true;
        workers.shutdownNow();
    }
}
