package io.vmmig.strategy;

import java.util.Arrays;
import java.util.BitSet;

/**
 * How many dirty-bitmap epochs wrote each chunk since the migration started. A chunk dirty in an
 * epoch counts once for that epoch, however many guest writes hit it: the bitmap cannot tell more.
 * Not thread-safe: owned by one scheduler.
 */
public final class WriteCounts {
    private final int chunks;
    /** Counts of chunks 0..counts.length-1; chunks beyond it count 0 (a {@link #growing} instance fills it as set). */
    private int[] counts;

    public WriteCounts(int chunks) {
        this.chunks = chunks;
        this.counts = new int[chunks];
    }

    private WriteCounts(int chunks, int[] counts) {
        this.chunks = chunks;
        this.counts = counts;
    }

    private WriteCounts(int[] counts) {
        this(counts.length, counts);
    }

    /**
     * Counts of a disk of {@code chunks} chunks, all 0, whose storage grows only as far as
     * {@link #setRange} reaches: what a received hand-over is decoded into, so that a peer's declared
     * chunk count alone allocates nothing.
     */
    public static WriteCounts growing(int chunks) {
        if (chunks < 0) throw new IllegalArgumentException("negative chunk count " + chunks);
        return new WriteCounts(chunks, new int[Math.min(chunks, 1024)]);
    }

    private void reach(int end) {
        if (end <= counts.length) return;
        if (end > chunks) throw new IllegalArgumentException("chunk " + (end - 1) + " outside 0.." + (chunks - 1));
        counts = Arrays.copyOf(counts, (int) Math.min(chunks, Math.max((long) end, 2L * counts.length)));
    }

    /** Counts one more write for every chunk set in {@code dirty}. */
    public void recordEpoch(BitSet dirty) {
        for (int c = dirty.nextSetBit(0); c >= 0; c = dirty.nextSetBit(c + 1)) {
            if (c >= chunks) throw new IllegalArgumentException("dirty chunk " + c + " outside 0.." + (chunks - 1));
            reach(c + 1);
            if (counts[c] < Integer.MAX_VALUE) counts[c]++;
        }
    }

    /** Sets the count of chunks {@code from} (inclusive) to {@code to} (exclusive), as a hand-over received says. */
    public void setRange(int from, int to, int count) {
        if (count < 0) throw new IllegalArgumentException("negative write count " + count);
        if (from < 0 || from > to) throw new IllegalArgumentException("bad chunk range " + from + ".." + to);
        if (from == to || count == 0 && from >= counts.length) return;   // nothing to set, or 0 beyond the storage already
        reach(to);
        Arrays.fill(counts, from, to, count);
    }

    public int get(int chunk) {
        if (chunk >= counts.length && chunk < chunks) return 0;
        return counts[chunk];
    }

    public int chunks() {
        return chunks;
    }

    /** How many counts are held in memory (at most {@link #chunks()}; less for a {@link #growing} one not set that far). */
    public int storedChunks() {
        return counts.length;
    }

    /** An independent copy, e.g. to hand to the destination at cutover. */
    public WriteCounts copy() {
        return new WriteCounts(chunks, counts.clone());
    }

    /** The counts as an array (a copy), for the wire. */
    public int[] toArray() {
        return Arrays.copyOf(counts, chunks);
    }

    public static WriteCounts of(int[] counts) {
        return new WriteCounts(counts.clone());
    }

    @Override
    public String toString() {
        return "WriteCounts" + Arrays.toString(counts.length > 16 ? Arrays.copyOf(counts, 16) : counts);
    }
}
