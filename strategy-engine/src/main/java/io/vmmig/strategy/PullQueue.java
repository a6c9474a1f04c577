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
 * pulled hottest first, a guest read of a missing chunk served before anything else, a guest write
 * covering a whole missing chunk cancelling its pull.
 *
 * <p>Each remaining chunk walks a small state machine. The caller moves data; this class decides:
 * <pre>
 *   MISSING --next()--> PULLING --pullArrived()=true--> INSTALLING --installed()--> PRESENT
 *   MISSING|PULLING --overwrite()--> OVERWRITING --overwritten()--> PRESENT   (pull result discarded)
 *   INSTALLING --overwrite()--> (waits for installed()) PRESENT --> guest write proceeds
 *   PULLING --pullFailed()--> MISSING (queued again)
 * </pre>
 * A chunk never goes back from PRESENT, so pulled data can never land on top of a newer guest write:
 * the pull's bytes are written to the store only between {@link #pullArrived} returning true and
 * {@link #installed}, and a guest write of that chunk waits for that window to close.
 */
public final class PullQueue {

    /** Why a chunk was pulled. */
    public enum Reason { ON_DEMAND, BACKGROUND }

    /** A chunk handed to a puller. */
    public record Pull(int chunk, Reason reason) {}

    private enum State { PRESENT, MISSING, PULLING, INSTALLING, OVERWRITING }

    private final State[] states;
    private final WriteCounts counts;
    private final ArrayDeque<Integer> urgent = new ArrayDeque<>();
    private final PriorityQueue<Integer> background;
    private final BitSet urgentQueued = new BitSet();
    private final Map<Integer, List<CompletableFuture<Void>>> waiters = new HashMap<>();
    private int notPresent;
    private long pulledOnDemand;
    private long pulledBackground;
    private long cancelledByWrite;
    private long discardedPulls;

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
     * A guest read (or a write covering only part of the chunk) needs this chunk: the future
     * completes once it is present. A missing chunk jumps ahead of the background order.
     */
    public synchronized CompletableFuture<Void> demand(int chunk) {
        State s = states[chunk];
        if (s == State.PRESENT) return CompletableFuture.completedFuture(null);
        if (s == State.MISSING && !urgentQueued.get(chunk)) {
            urgent.add(chunk);
            urgentQueued.set(chunk);
            notifyAll();
        }
        return waitFor(chunk);
    }

    /** Whether the destination's copy of the chunk may be read as is. */
    public synchronized boolean isPresent(int chunk) {
        return states[chunk] == State.PRESENT;
    }

    /**
     * The pulled bytes of the chunk arrived. True: write them to the store, then call
     * {@link #installed}. False: a guest write took the chunk over meanwhile; discard them.
     */
    public synchronized boolean pullArrived(int chunk) {
        if (states[chunk] == State.PULLING) {
            states[chunk] = State.INSTALLING;
            return true;
        }
        discardedPulls++;
        return false;
    }

    /** The pulled bytes are in the store. */
    public void installed(int chunk) {
        List<CompletableFuture<Void>> released;
        synchronized (this) {
            if (states[chunk] != State.INSTALLING)
                throw new IllegalStateException("chunk " + chunk + " installed while " + states[chunk]);
            released = becomePresent(chunk);
        }
        release(released);
    }

    /** The pull of the chunk failed before anything was written: it is queued again. */
    public synchronized void pullFailed(int chunk) {
        if (states[chunk] != State.PULLING) return;
        states[chunk] = State.MISSING;
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
     */
    public synchronized CompletableFuture<Void> overwrite(int chunk) {
        switch (states[chunk]) {
            case MISSING, PULLING -> {
                cancelledByWrite++;
                states[chunk] = State.OVERWRITING;
                return CompletableFuture.completedFuture(null);
            }
            case INSTALLING -> {
                return waitFor(chunk);
            }
            default -> {
                return CompletableFuture.completedFuture(null);
            }
        }
    }

    /** The guest's full-chunk write is in the store. */
    public void overwritten(int chunk) {
        List<CompletableFuture<Void>> released = null;
        synchronized (this) {
            if (states[chunk] == State.OVERWRITING) released = becomePresent(chunk);
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

    public synchronized PullStats stats() {
        return new PullStats(pulledOnDemand, pulledBackground, cancelledByWrite, discardedPulls, notPresent);
    }

    private CompletableFuture<Void> waitFor(int chunk) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        waiters.computeIfAbsent(chunk, k -> new ArrayList<>(1)).add(f);
        return f;
    }

    /** Marks the chunk present and returns its waiters, to be completed outside the monitor. */
    private List<CompletableFuture<Void>> becomePresent(int chunk) {
        states[chunk] = State.PRESENT;
        notPresent--;
        notifyAll();
        return waiters.remove(chunk);
    }

    private static void release(List<CompletableFuture<Void>> released) {
        if (released != null) released.forEach(f -> f.complete(null));
    }

    /** Counters of the pull phase. */
    public record PullStats(long pulledOnDemand, long pulledBackground, long cancelledByWrite,
                            long discardedPulls, int notPresent) {}
}
