package io.vmmig.lab.bench;

/**
 * The three runs of the bench's dedup comparison (issue 15, seed 003), on the same guest and link: no
 * dedup; dedup on with a destination that holds no neighbour (every fingerprint crosses and misses: what
 * dedup costs when it cannot help); dedup on with the neighbour image indexed at the destination.
 */
enum DedupCell {
    OFF("off"),
    NO_NEIGHBOUR("on, no neighbour"),
    NEIGHBOUR("on, neighbour indexed");

    private final String label;

    DedupCell(String label) {
        this.label = label;
    }

    String label() {
        return label;
    }
}
