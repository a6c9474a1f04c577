package io.vmmig.nbd.backend;

/**
 * One run of bytes with the same allocation state, as reported by {@link BlockBackend#blockStatus}.
 *
 * @param length bytes covered, always positive
 * @param flags  base:allocation flags ({@code NbdReplyType.STATE_HOLE}, {@code STATE_ZERO})
 */
public record Extent(long length, int flags) {
    public Extent {
        if (length <= 0) throw new IllegalArgumentException("extent length must be positive: " + length);
    }

    /** @return true if the range reads as zeroes */
    public boolean zero() {
        return (flags & io.vmmig.nbd.protocol.NbdReplyType.STATE_ZERO) != 0;
    }
}
