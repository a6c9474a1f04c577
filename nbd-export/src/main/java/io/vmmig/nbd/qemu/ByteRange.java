package io.vmmig.nbd.qemu;

/** {@code length} bytes of a disk starting at {@code offset}. */
public record ByteRange(long offset, long length) {
    public ByteRange {
        if (offset < 0 || length <= 0) throw new IllegalArgumentException("bad range " + offset + "+" + length);
    }

    public long end() {
        return offset + length;
    }
}
