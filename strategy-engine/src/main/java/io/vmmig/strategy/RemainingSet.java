package io.vmmig.strategy;

import java.util.BitSet;

/**
 * What the source hands over at cutover (seed 002, TRANSFER IO CONTROL): the chunks the destination
 * must still pull, and the write count of every chunk so it can pull the hottest first.
 */
public record RemainingSet(BitSet chunks, WriteCounts counts) {
    public RemainingSet {
        chunks = (BitSet) chunks.clone();
        if (chunks.length() > counts.chunks())
            throw new IllegalArgumentException("remaining chunk " + (chunks.length() - 1) + " outside " + counts.chunks() + " chunks");
    }

    @Override
    public BitSet chunks() {
        return (BitSet) chunks.clone();
    }

    public int size() {
        return chunks.cardinality();
    }
}
