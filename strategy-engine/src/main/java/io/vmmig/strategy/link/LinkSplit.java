package io.vmmig.strategy.link;

/**
 * How one migration's budget is split between its disk push and QEMU's memory stream, which run at once
 * (hybrid starts memory as soon as the push starts): each is guaranteed half, and takes what the other
 * left unused in the last interval (work-conserving), so together they stay at the budget once both are
 * busy and either alone gets the whole of it. Between two intervals both may rise toward the budget, so the
 * sum may overshoot for at most one interval; the next one corrects it.
 *
 * @param diskBytesPerSecond   the push's token-bucket rate
 * @param memoryBytesPerSecond QEMU's {@code max-bandwidth}
 */
public record LinkSplit(long diskBytesPerSecond, long memoryBytesPerSecond) {
    /**
     * @param budget        the migration's budget now, bytes/s (&gt; 0)
     * @param diskMeasured  what the push sent in the last interval, bytes/s
     * @param memoryMeasured what QEMU's memory stream sent in the last interval, bytes/s
     * @param memoryActive  whether memory migrates now (before {@code migrate}: the push may take all)
     * @param memoryCap     the user's own memory cap ({@code --memory-bandwidth}), 0 for none
     */
    public static LinkSplit of(long budget, long diskMeasured, long memoryMeasured, boolean memoryActive, long memoryCap) {
        if (budget <= 0) throw new IllegalArgumentException("a split needs a budget > 0 bytes/s, got " + budget);
        long half = Math.max(1, budget / 2);
        long memory = clamp(budget - Math.max(0, diskMeasured), half, budget);
        if (memoryCap > 0) memory = Math.min(memory, memoryCap);
        long disk = memoryActive ? clamp(budget - Math.max(0, memoryMeasured), half, budget) : budget;
        return new LinkSplit(disk, memory);
    }

    /** Half each (memory at most {@code memoryCap}, 0: none, the rest to the disk): the split when memory starts, before anything is measured. */
    public static LinkSplit even(long budget, long memoryCap) {
        if (budget <= 0) throw new IllegalArgumentException("a split needs a budget > 0 bytes/s, got " + budget);
        long memory = Math.max(1, budget / 2);
        if (memoryCap > 0) memory = Math.min(memory, memoryCap);
        return new LinkSplit(budget - memory, memory);
    }

    private static long clamp(long v, long lo, long hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
