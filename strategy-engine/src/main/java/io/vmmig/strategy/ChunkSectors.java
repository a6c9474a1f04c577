package io.vmmig.strategy;

import java.util.BitSet;

/**
 * What the destination guest wrote into one chunk that is not yet present, at 512-byte sector
 * granularity: the sectors claimed by guest writes (issued to the store or about to be), the sectors
 * whose writes have landed, and how many of those writes are still on their way. Created lazily by
 * the {@link PullQueue} for a chunk the guest writes into; guarded by the queue's monitor.
 */
final class ChunkSectors {
    private final int sectors;
    private final BitSet claimed = new BitSet();
    private final BitSet landed = new BitSet();
    private int inFlight;

    ChunkSectors(int sectors) {
        if (sectors <= 0) throw new IllegalArgumentException("a chunk has at least one sector, got " + sectors);
        this.sectors = sectors;
    }

    int sectors() {
        return sectors;
    }

    /** A guest write of sectors {@code [from, to)} is about to be issued. */
    void claim(int from, int to) {
        if (from < 0 || to > sectors || from >= to)
            throw new IllegalArgumentException("sectors [" + from + ", " + to + ") outside a chunk of " + sectors);
        claimed.set(from, to);
        inFlight++;
    }

    /** The guest write of sectors {@code [from, to)} finished; {@code stored} if its bytes are in the store. */
    void land(int from, int to, boolean stored) {
        if (inFlight == 0) throw new IllegalStateException("no guest write in flight to land at sectors " + from);
        if (stored) landed.set(from, to);
        inFlight--;
    }

    /** Every sector is claimed by a guest write: nothing of the source's version is needed. */
    boolean fullyClaimed() {
        return claimed.cardinality() == sectors;
    }

    /** The store already holds the guest's bytes for every sector of {@code [from, to)}. */
    boolean landedCovers(int from, int to) {
        int gap = landed.nextClearBit(from);
        return gap >= to;
    }

    int inFlight() {
        return inFlight;
    }

    /** A copy of the claimed sectors (what an install must skip). */
    BitSet claimedCopy() {
        return (BitSet) claimed.clone();
    }
}
