package io.vmmig.strategy;

import java.util.BitSet;
import java.util.Optional;

/**
 * The source's background push (seed 002, Algorithm 1): which chunks still have to reach the
 * destination before cutover, and in which order.
 *
 * <p>The remaining set starts as the chunks holding data in the layer being moved. Each
 * dirty-bitmap epoch adds the chunks written in it back to the remaining set and counts one write
 * for each. A chunk whose count reached {@code threshold} is hot: it stays in the remaining set
 * (the destination pulls it after cutover) but is no longer pushed, so no chunk crosses the link
 * more than {@code threshold} times before cutover. Pushable chunks go out in disk order from a
 * sweeping cursor, in runs of consecutive chunks, which keeps reads sequential.
 *
 * <p>Correctness rests on the order of events, not on locking the guest out: a chunk leaves the
 * remaining set before its data is read, so a write that lands after the read is in a later epoch
 * and puts the chunk back.
 */
public final class PushScheduler {
    private final ChunkGeometry geometry;
    private final int threshold;
    private final BitSet remaining;
    private final WriteCounts counts;
    private int cursor;
    private int epochs;

    /**
     * @param allocated the chunks with data in the layer being moved (others are never pushed
     *                  unless the guest writes them)
     * @param threshold number of written epochs from which a chunk is no longer pushed (&ge; 1)
     */
    public PushScheduler(ChunkGeometry geometry, BitSet allocated, int threshold) {
        if (threshold < 1) throw new IllegalArgumentException("threshold must be >= 1, got " + threshold);
        if (allocated.length() > geometry.count())
            throw new IllegalArgumentException("allocated chunk " + (allocated.length() - 1) + " outside disk");
        this.geometry = geometry;
        this.threshold = threshold;
        this.remaining = (BitSet) allocated.clone();
        this.counts = new WriteCounts(geometry.count());
    }

    /** A dirty-bitmap epoch ended: these chunks were written during it. */
    public synchronized void onEpoch(BitSet dirty) {
        if (dirty.length() > geometry.count())
            throw new IllegalArgumentException("dirty chunk " + (dirty.length() - 1) + " outside disk");
        counts.recordEpoch(dirty);
        remaining.or(dirty);
        epochs++;
    }

    /**
     * Takes the next run of pushable chunks (in the remaining set, below the threshold) off the
     * remaining set: at most {@code maxChunks} consecutive ones, from the cursor on, wrapping.
     */
    public synchronized Optional<ChunkRun> nextRun(int maxChunks) {
        if (maxChunks < 1) throw new IllegalArgumentException("maxChunks must be >= 1");
        int first = nextPushable(cursor);
        if (first < 0) first = nextPushable(0);
        if (first < 0) return Optional.empty();
        int n = 1;
        while (n < maxChunks && first + n < geometry.count() && isPushable(first + n)) n++;
        remaining.clear(first, first + n);
        cursor = first + n;
        return Optional.of(new ChunkRun(first, n));
    }

    /** A chunk read for pushing turned out to need no transfer (all zero on a fresh target). */
    public synchronized void skip(int chunk) {
        remaining.clear(chunk);
    }

    /** A push failed before the destination stored it: the chunk goes back into the remaining set. */
    public synchronized void pushFailed(ChunkRun run) {
        remaining.set(run.first(), run.first() + run.count());
    }

    /** Chunks still to push now (remaining and below the threshold). */
    public synchronized int pushableCount() {
        int n = 0;
        for (int c = nextPushable(0); c >= 0; c = nextPushable(c + 1)) n++;
        return n;
    }

    /** Chunks held back because they are hot (remaining, at or over the threshold). */
    public synchronized int hotCount() {
        return remaining.cardinality() - pushableCount();
    }

    public synchronized int remainingCount() {
        return remaining.cardinality();
    }

    public synchronized int epochs() {
        return epochs;
    }

    /**
     * The hand-over at cutover, taken once the final epoch (while the source is paused) has been
     * fed to {@link #onEpoch}: every chunk the destination does not have, with its write count.
     */
    public synchronized RemainingSet remainingSet() {
        return new RemainingSet((BitSet) remaining.clone(), counts.copy());
    }

    public int threshold() {
        return threshold;
    }

    private boolean isPushable(int c) {
        return remaining.get(c) && counts.get(c) < threshold;
    }

    private int nextPushable(int from) {
        for (int c = remaining.nextSetBit(from); c >= 0; c = remaining.nextSetBit(c + 1)) {
            if (counts.get(c) < threshold) return c;
        }
        return -1;
    }
}
