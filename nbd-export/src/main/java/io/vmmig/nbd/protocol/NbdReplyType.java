package io.vmmig.nbd.protocol;

/** Structured reply chunk types and flags. */
public final class NbdReplyType {
    private NbdReplyType() {}

    public static final int FLAG_DONE = 1;

    public static final int NONE = 0;
    public static final int OFFSET_DATA = 1;
    public static final int OFFSET_HOLE = 2;
    public static final int BLOCK_STATUS = 5;
    public static final int ERROR = (1 << 15) | 1;
    public static final int ERROR_OFFSET = (1 << 15) | 2;

    public static boolean isError(int type) {
        return (type & (1 << 15)) != 0;
    }

    /** base:allocation extent flags. */
    public static final int STATE_HOLE = 1;
    public static final int STATE_ZERO = 1 << 1;

    public static final String META_BASE_ALLOCATION = "base:allocation";
    public static final String META_DIRTY_BITMAP_PREFIX = "qemu:dirty-bitmap:";
    public static final String META_ALLOCATION_DEPTH = "qemu:allocation-depth";
}
