package io.vmmig.nbd.client;

/**
 * One block status extent: absolute offset, length, and the context-specific value (flags for
 * base:allocation, 0/1 for a dirty bitmap, depth for qemu:allocation-depth).
 */
public record Extent(long offset, long length, int flags) {
    public long end() { return offset + length; }
}
