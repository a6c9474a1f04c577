package io.vmmig.strategy;

/** {@code count} consecutive chunks starting at {@code first}: one read and one push on the wire. */
public record ChunkRun(int first, int count) {
    public ChunkRun {
        if (first < 0 || count <= 0) throw new IllegalArgumentException("bad chunk run " + first + "+" + count);
    }

    public int last() {
        return first + count - 1;
    }
}
