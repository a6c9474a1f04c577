package io.vmmig.strategy;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The destination's pull after cutover (seed 002, Algorithms 3 and 4): the chunks still missing,
 * pulled hottest first, a guest read of a missing chunk served before anything else, guest writes
 * into missing chunks taken at once at 512-byte sector granularity.
 *
 * <p>Each remaining chunk walks a small state machine. The caller moves data; this class decides:
 * <pre>
 *   MISSING --next()--> PULLING --pullArrived()--> INSTALLING --installed()--> PRESENT
 *                                                             (or SETTLING while guest writes are in flight)
 *   MISSING|PULLING --guest writes claim every sector--> SETTLING       (pull result discarded)
 *   SETTLING --last guest write claimed before landed--> PRESENT
 *   PULLING --pullFailed()--> MISSING (queued again)
 * </pre>
 * A {@link #write guest write} into a MISSING or PULLING chunk claims its sectors in the chunk's
 * mask and is issued to the store at once; the pulled bytes are later installed only into the
 * sectors not claimed ({@link #pullArrivedSkipping} reads the mask at install time, and the
 * install skips them). A guest write into an INSTALLING chunk waits until the install is in the
 * store: it cannot be skipped any more. So the pulled bytes and the guest's bytes never cover the
 * same sector while both are in flight, and pulled bytes never land on a guest write.
 * A chunk becomes PRESENT only once the guest writes claimed before that have landed, so PRESENT
 * always means: the store holds the guest's view of every byte of the chunk.
 */
public final class PullQueue {

    /** Why a chunk was pulled. */
    public enum Reason { ON_DEMAND, BACKGROUND }

    /** A chunk handed to a puller. */
    public record Pull(int chunk, Reason reason) {}

    private enum State { PRESENT, MISSING, PULLING, INSTALLING, SETTLING }

    private final State[] states;
    private final WriteCounts counts;
    private final ArrayDeque<Integer> urgent = new ArrayDeque<>();
    private final PriorityQueue<Integer> background;
    private final BitSet urgentQueued = new BitSet();
    /** Chunks whose pull in flight was taken on demand. */
    private final BitSet pullingOnDemand = new BitSet();
    /** Futures completed when the chunk becomes PRESENT. */
    private final Map<Integer, List<CompletableFuture<Void>>> waiters = new HashMap<>();
    /** Futures completed when the chunk's install is in the store (guest writes waiting to go). */
    private final Map<Integer, List<CompletableFuture<Void>>> installWaiters = new HashMap<>();
    private final Map<Integer, ChunkSectors> guestSectors = new HashMap<>();
    /** When a missing chunk was first demanded (System.nanoTime). */
    private final Map<Integer, Long> demandedAt = new HashMap<>();
    /** Whole-chunk writes of the {@link #overwrite} API not yet {@link #overwritten}. */
    private final Map<Integer, ArrayDeque<GuestWrite>> overwrites = new HashMap<>();
    private final CompletableFuture<Void> completion = new CompletableFuture<>();
    private long[] onDemandNanos = new long[16];
    private int onDemandSamples;
    private int notPresent;
    private volatile PullJournal journal = PullJournal.NONE;
    private final int handedOver;
    private long pulledOnDemand;
    private long pulledBackground;
    private long cancelledByWrite;
    private long discardedPulls;
    private long readsServedFromGuestWrites;

    public PullQueue(RemainingSet set) {
        this.counts = set.counts().copy();
        this.states = new State[counts.chunks()];
        java.util.Arrays.fill(states, State.PRESENT);
        BitSet missing = set.chunks();
        // Hottest first; among equals, disk order (sequential reads at the source).
        this.background = new PriorityQueue<>(Math.max(1, missing.cardinality()), (a, b) -> {
            int byCount = Integer.compare(counts.get(b), counts.get(a));
            return byCount != 0 ? byCount : Integer.compare(a, b);
        });
        for (int c = missing.nextSetBit(0); c >= 0; c = missing.nextSetBit(c + 1)) {
            states[c] = State.MISSING;
            background.add(c);
            notPresent++;
        }
        handedOver = notPresent;
        if (notPresent == 0) completion.complete(null);
    }

    /** From now on every claim and install is journaled (durably) before it takes effect; see {@link PullJournal}. */
    public void journalTo(PullJournal j) {
        this.journal = j;
    }

    public PullJournal journal() {
        return journal;
    }

    /** Replaying a journal: the chunk was installed before the restart. */
    synchronized void restorePresent(int chunk) {
        if (states[chunk] == State.MISSING) {
            List<CompletableFuture<Void>> r = becomePresent(chunk);
            if (r != null) r.forEach(f -> f.complete(null));
        }
    }

    /** Replaying a journal: the guest wrote these sectors into the missing chunk before the restart. */
    synchronized void restoreClaim(int chunk, int fromSector, int toSector, int chunkSectors) {
        if (states[chunk] != State.MISSING) return;
        GuestWrite w = write(chunk, fromSector, toSector, chunkSectors);
        w.done(true);
    }

    /** How many chunks the hand-over left missing. */
    public int handedOverCount() {
        return handedOver;
    }

    /**
     * The next chunk to pull: a demanded one if any, else the hottest missing one. Empty when no
     * chunk is waiting to be pulled (all present, or the rest already in flight).
     */
    public synchronized OptionalInt next() {
        Pull p = take();
        return p == null ? OptionalInt.empty() : OptionalInt.of(p.chunk());
    }

    /** Like {@link #next()} but says why, and waits up to {@code timeout} for work to appear. */
    public synchronized Pull awaitNext(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        Pull p;
        while ((p = take()) == null && notPresent > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return null;
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return p;
    }

    /** The next pull if one is waiting, without waiting. */
    public synchronized Pull awaitNextNow() {
        return take();
    }

    /** The next demanded chunk to pull, if any is waiting (never a background one), without waiting. */
    public synchronized Pull nextDemanded() {
        while (!urgent.isEmpty()) {
            int c = urgent.poll();
            urgentQueued.clear(c);
            if (states[c] == State.MISSING) {
                states[c] = State.PULLING;
                pulledOnDemand++;
                pullingOnDemand.set(c);
                return new Pull(c, Reason.ON_DEMAND);
            }
        }
        return null;
    }

    private Pull take() {
        Pull demanded = nextDemanded();
        if (demanded != null) return demanded;
        while (!background.isEmpty()) {
            int c = background.poll();
            if (states[c] == State.MISSING) {
                states[c] = State.PULLING;
                pulledBackground++;
                return new Pull(c, Reason.BACKGROUND);
            }
        }
        return null;
    }

    /**
     * A guest read (or a write that cannot be taken by sectors) needs this whole chunk: the future
     * completes once it is present. A missing chunk jumps ahead of the background order.
     */
    public synchronized CompletableFuture<Void> demand(int chunk) {
        State s = states[chunk];
        if (s == State.PRESENT) return CompletableFuture.completedFuture(null);
        if (s == State.MISSING) enqueueDemand(chunk);
        return waitFor(waiters, chunk);
    }

    /**
     * A guest read of sectors {@code [fromSector, toSector)} of the chunk: completes at once when the
     * chunk is present or the guest's own writes already in the store cover the range (no pull), else
     * demands the chunk and completes when it is present.
     */
    public synchronized CompletableFuture<Void> read(int chunk, int fromSector, int toSector) {
        State s = states[chunk];
        if (s == State.PRESENT) return CompletableFuture.completedFuture(null);
        ChunkSectors g = guestSectors.get(chunk);
        if (g != null && g.landedCovers(fromSector, toSector)) {
            readsServedFromGuestWrites++;
            return CompletableFuture.completedFuture(null);
        }
        if (s == State.MISSING) enqueueDemand(chunk);
        return waitFor(waiters, chunk);
    }

    private void enqueueDemand(int chunk) {
        demandedAt.putIfAbsent(chunk, System.nanoTime());
        if (!urgentQueued.get(chunk)) {
            urgent.add(chunk);
            urgentQueued.set(chunk);
            notifyAll();
        }
    }

    /**
     * A guest write of sectors {@code [fromSector, toSector)} of a chunk of {@code chunkSectors}
     * sectors (the write covers those sectors whole). Issue it to the store once
     * {@link GuestWrite#ready()} completes, then call {@link GuestWrite#done}. Into a missing chunk
     * it is ready at once (its sectors are claimed: the pull will not install over them); into a
     * chunk whose pulled bytes are being installed it waits for the install.
     */
    public synchronized GuestWrite write(int chunk, int fromSector, int toSector, int chunkSectors) {
        switch (states[chunk]) {
            case MISSING, PULLING -> {
                ChunkSectors g = guestSectors.computeIfAbsent(chunk, k -> new ChunkSectors(chunkSectors));
                if (g.sectors() != chunkSectors)
                    throw new IllegalArgumentException("chunk " + chunk + " has " + g.sectors() + " sectors, not " + chunkSectors);
                journal.claimed(chunk, fromSector, toSector);   // durable before the write is issued
                g.claim(fromSector, toSector);
                if (g.fullyClaimed()) {
                    // Nothing of the source's version is needed any more: cancel the pull.
                    cancelledByWrite++;
                    if (states[chunk] == State.PULLING) {
                        if (pullingOnDemand.get(chunk)) pulledOnDemand--;
                        else pulledBackground--;
                    }
                    pullingOnDemand.clear(chunk);
                    demandedAt.remove(chunk);
                    states[chunk] = State.SETTLING;
                }
                return new GuestWrite(chunk, fromSector, toSector, true, CompletableFuture.completedFuture(null));
            }
            case INSTALLING -> {
                return new GuestWrite(chunk, fromSector, toSector, false, waitFor(installWaiters, chunk));
            }
            default -> {
                // PRESENT, or SETTLING: no pulled bytes will land any more, the write may go.
                return new GuestWrite(chunk, fromSector, toSector, false, CompletableFuture.completedFuture(null));
            }
        }
    }

    /** Whether the destination's copy of the chunk may be read as is. */
    public synchronized boolean isPresent(int chunk) {
        return states[chunk] == State.PRESENT;
    }

    /**
     * The pulled bytes of the chunk arrived. True: write them to the store, then call
     * {@link #installed}. False: a guest write took the chunk over meanwhile; discard them.
     * Only for callers that know the guest wrote no sectors of it: see {@link #pullArrivedSkipping}.
     */
    public boolean pullArrived(int chunk) {
        BitSet skip = pullArrivedSkipping(chunk);
        if (skip != null && !skip.isEmpty())
            throw new IllegalStateException("chunk " + chunk + " has guest-written sectors: install with pullArrivedSkipping");
        return skip != null;
    }

    /**
     * The pulled bytes of the chunk arrived. Null: guest writes took the whole chunk over meanwhile,
     * discard them. Otherwise the sectors the guest wrote (empty if none): write the pulled bytes of
     * every other sector to the store, then call {@link #installed}. Guest writes arriving from now
     * until {@link #installed} wait, so the returned set stays exact.
     */
    public synchronized BitSet pullArrivedSkipping(int chunk) {
        if (states[chunk] == State.PULLING) {
            states[chunk] = State.INSTALLING;
            ChunkSectors g = guestSectors.get(chunk);
            return g == null ? new BitSet() : g.claimedCopy();
        }
        discardedPulls++;
        return null;
    }

    /** The pulled bytes are in the store. */
    public void installed(int chunk) {
        List<CompletableFuture<Void>> released;
        journal.installed(chunk);   // durable before the chunk counts as present
        synchronized (this) {
            if (states[chunk] != State.INSTALLING)
                throw new IllegalStateException("chunk " + chunk + " installed while " + states[chunk]);
            Long demanded = demandedAt.remove(chunk);
            if (pullingOnDemand.get(chunk) && demanded != null) sample(System.nanoTime() - demanded);
            pullingOnDemand.clear(chunk);
            released = new ArrayList<>();
            List<CompletableFuture<Void>> writes = installWaiters.remove(chunk);
            if (writes != null) released.addAll(writes);
            ChunkSectors g = guestSectors.get(chunk);
            if (g != null && g.inFlight() > 0) {
                states[chunk] = State.SETTLING;      // present once those guest writes have landed
            } else {
                List<CompletableFuture<Void>> readers = becomePresent(chunk);
                if (readers != null) released.addAll(readers);
            }
        }
        release(released);
    }

    /**
     * Takes this particular chunk for a local copy (dedup: its fingerprint matched one of this host's
     * images) if it is missing and nobody pulls it: it is then in flight as a background pull would be
     * ({@link #pullArrivedSkipping}, {@link #installed}), or given back with {@link #unclaim}.
     */
    public synchronized boolean claim(int chunk) {
        if (chunk < 0 || chunk >= states.length || states[chunk] != State.MISSING) return false;
        states[chunk] = State.PULLING;
        return true;
    }

    /** A {@link #claim}ed chunk had no local copy after all: it is pulled as before. */
    public synchronized void unclaim(int chunk) {
        if (states[chunk] != State.PULLING) return;
        states[chunk] = State.MISSING;
        if (waiters.containsKey(chunk) && !urgentQueued.get(chunk)) {
            urgent.addFirst(chunk);
            urgentQueued.set(chunk);
        }
        background.add(chunk);   // (a duplicate in the queue is skipped by take)
        notifyAll();
    }

    /** The pull of the chunk failed before anything was written: it is queued again. */
    public synchronized void pullFailed(int chunk) {
        if (states[chunk] != State.PULLING) return;
        states[chunk] = State.MISSING;
        if (pullingOnDemand.get(chunk)) pulledOnDemand--;
        else pulledBackground--;
        pullingOnDemand.clear(chunk);
        if (waiters.containsKey(chunk)) {
            urgent.addFirst(chunk);
            urgentQueued.set(chunk);
        } else {
            background.add(chunk);
        }
        notifyAll();
    }

    /**
     * A guest write covers the whole chunk. The returned future completes when the write may go to
     * the store; the caller then calls {@link #overwritten}. A pending pull of the chunk is
     * cancelled (its bytes will be discarded); a pull being installed is let finish first.
     * (The sector form, {@link #write}, covers this and partial writes.)
     */
    public CompletableFuture<Void> overwrite(int chunk) {
        GuestWrite w = write(chunk, 0, 1, 1);
        synchronized (this) {
            overwrites.computeIfAbsent(chunk, k -> new ArrayDeque<>()).add(w);
        }
        return w.ready();
    }

    /** The guest's full-chunk write of {@link #overwrite} is in the store. */
    public void overwritten(int chunk) {
        GuestWrite w;
        synchronized (this) {
            ArrayDeque<GuestWrite> d = overwrites.get(chunk);
            w = d == null ? null : d.poll();
            if (d != null && d.isEmpty()) overwrites.remove(chunk);
        }
        if (w != null) w.done(true);
    }

    private void landed(GuestWrite w, boolean stored) {
        List<CompletableFuture<Void>> released = null;
        synchronized (this) {
            ChunkSectors g = guestSectors.get(w.chunk);
            g.land(w.fromSector, w.toSector, stored);
            if (g.inFlight() == 0 && states[w.chunk] == State.SETTLING) released = becomePresent(w.chunk);
        }
        release(released);
    }

    /** Chunks not yet present (missing, being pulled, or being written). */
    public synchronized int notPresentCount() {
        return notPresent;
    }

    public synchronized boolean isComplete() {
        return notPresent == 0;
    }

    /** Completes when every chunk is present, whether pulled or written whole by the guest. */
    public CompletableFuture<Void> completion() {
        return completion;
    }

    /**
     * Counters of the pull phase. A chunk is counted once, as the pull that made it present or as
     * cancelled by guest writes, once nothing is in flight.
     */
    public synchronized PullStats stats() {
        return new PullStats(pulledOnDemand, pulledBackground, cancelledByWrite, discardedPulls, notPresent,
                readsServedFromGuestWrites);
    }

    /** Latency of the on-demand pulls installed so far. */
    public synchronized OnDemandLatency onDemandLatency() {
        return OnDemandLatency.ofNanos(onDemandNanos, onDemandSamples);
    }

    /**
     * Each on-demand pull's latency (guest demand to bytes installed, nanoseconds) from the
     * {@code from}-th on, in the order they were installed: a caller keeps its count and asks for the
     * new ones (the agent's metrics do, twice a second).
     */
    public synchronized long[] onDemandLatencyNanos(int from) {
        return java.util.Arrays.copyOfRange(onDemandNanos, Math.min(Math.max(0, from), onDemandSamples), onDemandSamples);
    }

    private void sample(long nanos) {
        if (onDemandSamples == onDemandNanos.length) onDemandNanos = java.util.Arrays.copyOf(onDemandNanos, onDemandSamples * 2);
        onDemandNanos[onDemandSamples++] = nanos;
    }

    private static CompletableFuture<Void> waitFor(Map<Integer, List<CompletableFuture<Void>>> on, int chunk) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        on.computeIfAbsent(chunk, k -> new ArrayList<>(1)).add(f);
        return f;
    }

    /** Marks the chunk present and returns its waiters, to be completed outside the monitor. */
    private List<CompletableFuture<Void>> becomePresent(int chunk) {
        states[chunk] = State.PRESENT;
        guestSectors.remove(chunk);
        demandedAt.remove(chunk);
        notPresent--;
        notifyAll();
        List<CompletableFuture<Void>> released = waiters.remove(chunk);
        if (notPresent == 0) {
            if (released == null) released = new ArrayList<>(1);
            released.add(completion);
        }
        return released;
    }

    private static void release(List<CompletableFuture<Void>> released) {
        if (released != null) released.forEach(f -> f.complete(null));
    }

    /**
     * One guest write into one chunk, as admitted by {@link #write}: issue it to the store once
     * {@link #ready()} completes, then call {@link #done} exactly once.
     */
    public final class GuestWrite {
        private final int chunk;
        private final int fromSector;
        private final int toSector;
        private final boolean claimed;
        private final CompletableFuture<Void> ready;
        private boolean finished;

        private GuestWrite(int chunk, int fromSector, int toSector, boolean claimed, CompletableFuture<Void> ready) {
            this.chunk = chunk;
            this.fromSector = fromSector;
            this.toSector = toSector;
            this.claimed = claimed;
            this.ready = ready;
        }

        /** Completes when the write may be issued to the store. */
        public CompletableFuture<Void> ready() {
            return ready;
        }

        /** Whether this write went into a chunk not yet present (its sectors claimed, its pull not awaited). */
        public boolean intoMissingChunk() {
            return claimed;
        }

        /** The write finished; {@code stored} if its bytes reached the store. */
        public void done(boolean stored) {
            synchronized (PullQueue.this) {
                if (finished) throw new IllegalStateException("guest write into chunk " + chunk + " finished twice");
                finished = true;
            }
            if (claimed) landed(this, stored);
        }
    }

    /**
     * Counters of the pull phase.
     *
     * @param readsServedFromGuestWrites guest reads of a missing chunk served from the guest's own
     *                                   writes in the store, without pulling
     */
    public record PullStats(long pulledOnDemand, long pulledBackground, long cancelledByWrite,
                            long discardedPulls, int notPresent, long readsServedFromGuestWrites) {
        public PullStats(long pulledOnDemand, long pulledBackground, long cancelledByWrite, long discardedPulls,
                         int notPresent) {
            this(pulledOnDemand, pulledBackground, cancelledByWrite, discardedPulls, notPresent, 0);
        }
    }
}
