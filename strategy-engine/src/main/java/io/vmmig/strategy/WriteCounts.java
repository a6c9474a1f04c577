package io.vmmig.strategy;

import java.util.Arrays;
import java.util.BitSet;

/**
 * How many dirty-bitmap epochs wrote each chunk since the migration started. A chunk dirty in an
 * epoch counts once for that epoch, however many guest writes hit it: the bitmap cannot tell more.
 * Not thread-safe: owned by one scheduler.
 */
public final class WriteCounts {
    private final int[] counts;

    public WriteCounts(int chunks) {
        this.counts = new int[chunks];
    }

    private WriteCounts(int[] counts) {
        this.counts = counts;
    }

    /** Counts one more write for every chunk set in {@code dirty}. */
    public void recordEpoch(BitSet dirty) {
        for (int c = dirty.nextSetBit(0); c >= 0; c = dirty.nextSetBit(c + 1)) {
            if (c >= counts.length) throw new IllegalArgumentException("dirty chunk " + c + " outside 0.." + (counts.length - 1));
            if (counts[c] < Integer.MAX_VALUE) counts[c]++;
        }
    }

    /** Sets the count of chunks {@code from} (inclusive) to {@code to} (exclusive), as a hand-over received says. */
    public void setRange(int from, int to, int count) {
        if (count < 0) throw new IllegalArgumentException("negative write count " + count);
        Arrays.fill(counts, from, to, count);
    }

    public int get(int chunk) {
        return counts[chunk];
    }

    public int chunks() {
        return counts.length;
    }

    /** An independent copy, e.g. to hand to the destination at cutover. */
    public WriteCounts copy() {
        return new WriteCounts(counts.clone());
    }

    /** The counts as an array (a copy), for the wire. */
    public int[] toArray() {
        return counts.clone();
    }

    public static WriteCounts of(int[] counts) {
        return new WriteCounts(counts.clone());
    }

    @Override
    public String toString() {
        return "WriteCounts" + Arrays.toString(counts.length > 16 ? Arrays.copyOf(counts, 16) : counts);
    }
}
