package io.vmmig.strategy;

/**
 * How a virtual disk is cut into chunks: fixed-size chunks, the last one possibly short.
 * Chunks are the unit of push, pull, write counting and on-demand fetch.
 */
public record ChunkGeometry(long diskSize, int chunkSize) {

    public ChunkGeometry {
        if (diskSize < 0) throw new IllegalArgumentException("disk size must be >= 0, got " + diskSize);
        if (chunkSize <= 0 || Integer.bitCount(chunkSize) != 1)
            throw new IllegalArgumentException("chunk size must be a power of two, got " + chunkSize);
        if ((diskSize + chunkSize - 1) / chunkSize > Integer.MAX_VALUE)
            throw new IllegalArgumentException("too many chunks: disk " + diskSize + " / chunk " + chunkSize);
    }

    /** Number of chunks (the last one may be shorter than {@link #chunkSize()}). */
    public int count() {
        return (int) ((diskSize + chunkSize - 1) / chunkSize);
    }

    public int chunkOf(long offset) {
        checkOffset(offset);
        return (int) (offset / chunkSize);
    }

    public long offsetOf(int chunk) {
        checkChunk(chunk);
        return (long) chunk * chunkSize;
    }

    /** Length of this chunk in bytes: {@link #chunkSize()} except for a short last chunk. */
    public int lengthOf(int chunk) {
        checkChunk(chunk);
        return (int) Math.min(chunkSize, diskSize - offsetOf(chunk));
    }

    /** First chunk touched by the byte range. */
    public int firstChunk(long offset, long length) {
        checkRange(offset, length);
        return (int) (offset / chunkSize);
    }

    /** Last chunk touched by the byte range (length must be &gt; 0). */
    public int lastChunk(long offset, long length) {
        checkRange(offset, length);
        if (length == 0) throw new IllegalArgumentException("empty range at " + offset);
        return (int) ((offset + length - 1) / chunkSize);
    }

    /** Whether the byte range covers the whole of {@code chunk}. */
    public boolean covers(long offset, long length, int chunk) {
        long start = offsetOf(chunk);
        return offset <= start && offset + length >= start + lengthOf(chunk);
    }

    /** Adds to {@code into} every chunk the byte range touches (ranges past the end are clipped). */
    public void markTouched(long offset, long length, java.util.BitSet into) {
        long end = Math.min(diskSize, offset + length);
        if (offset < 0 || length < 0) throw new IllegalArgumentException("bad range " + offset + "+" + length);
        if (end <= offset) return;
        into.set((int) (offset / chunkSize), (int) ((end - 1) / chunkSize) + 1);
    }

    private void checkOffset(long offset) {
        if (offset < 0 || offset >= diskSize)
            throw new IllegalArgumentException("offset " + offset + " outside disk of " + diskSize + " bytes");
    }

    private void checkRange(long offset, long length) {
        if (offset < 0 || length < 0 || offset + length > diskSize || offset + length < 0)
            throw new IllegalArgumentException(
                    "range [" + offset + ", +" + length + ") outside disk of " + diskSize + " bytes");
    }

    private void checkChunk(int chunk) {
        if (chunk < 0 || chunk >= count())
            throw new IllegalArgumentException("chunk " + chunk + " outside 0.." + (count() - 1));
    }
}
