package io.vmmig.strategy.link;

import java.util.ArrayList;
import java.util.List;

/**
 * One link's budget in bytes per second, shared fairly by the migrations that use it at once: each
 * {@link Share} gets an equal part, and a share capped lower by its own {@code --bandwidth} leaves the rest
 * to the others (max-min fairness, "water-filling"). A share's rate changes as migrations join and leave;
 * its users read {@link Share#bytesPerSecond()} each time they set their limits ({@link io.vmmig.strategy.qemu.LinkGovernor}).
 * A budget of 0 is unlimited: each share then gets its own cap (0: unlimited too).
 */
public final class LinkBudget {
    private final long bytesPerSecond;
    private final List<Share> shares = new ArrayList<>();

    /** @param bytesPerSecond the link's budget; 0 means unlimited */
    public LinkBudget(long bytesPerSecond) {
        if (bytesPerSecond < 0) throw new IllegalArgumentException("link budget must be >= 0 bytes/s (0: unlimited), got " + bytesPerSecond);
        this.bytesPerSecond = bytesPerSecond;
    }

    /** A budget of {@code bytesPerSecond} for one migration alone (its {@code --bandwidth}). */
    public static Share alone(long bytesPerSecond) {
        return new LinkBudget(bytesPerSecond).join(0, true);
    }

    public long bytesPerSecond() {
        return bytesPerSecond;
    }

    public boolean unlimited() {
        return bytesPerSecond == 0;
    }

    /**
     * A migration starts using the link.
     *
     * @param ownCap      the migration's own limit ({@code --bandwidth}), 0 for none
     * @param coversMemory whether QEMU's memory stream is inside the share with the disk (false when the user gave
     *                     memory a limit of its own, {@code --memory-bandwidth}: then only the disk draws on it)
     */
    public synchronized Share join(long ownCap, boolean coversMemory) {
        if (ownCap < 0) throw new IllegalArgumentException("a share's cap must be >= 0 bytes/s (0: none), got " + ownCap);
        Share s = new Share(ownCap, coversMemory);
        shares.add(s);
        return s;
    }

    /** How many migrations use the link now. */
    public synchronized int members() {
        return shares.size();
    }

    private synchronized void leave(Share s) {
        shares.remove(s);
    }

    /** The rate of {@code s} now: max-min fair over the members' caps. */
    private synchronized long rateOf(Share s) {
        if (unlimited()) return s.ownCap;
        if (!shares.contains(s)) return s.ownCap == 0 ? bytesPerSecond : Math.min(s.ownCap, bytesPerSecond);
        // water-filling: members capped below the equal part take their cap; the rest split what is left
        List<Share> open = new ArrayList<>(shares);
        long left = bytesPerSecond;
        boolean changed = true;
        while (changed && !open.isEmpty()) {
            changed = false;
            long part = left / open.size();
            for (var it = open.iterator(); it.hasNext(); ) {
                Share o = it.next();
                if (o.ownCap != 0 && o.ownCap <= part) {
                    if (o == s) return o.ownCap;
                    left -= o.ownCap;
                    it.remove();
                    changed = true;
                }
            }
        }
        return Math.max(1, left / Math.max(1, open.size()));
    }

    /** One migration's part of the budget; {@link #close()} when it no longer uses the link. */
    public final class Share implements AutoCloseable {
        private final long ownCap;
        private final boolean coversMemory;

        private Share(long ownCap, boolean coversMemory) {
            this.ownCap = ownCap;
            this.coversMemory = coversMemory;
        }

        /** Whether QEMU's memory stream shares this part with the disk (else memory keeps a limit of its own). */
        public boolean coversMemory() {
            return coversMemory;
        }

        /** The rate this migration may use now, bytes/s; 0: unlimited. */
        public long bytesPerSecond() {
            return rateOf(this);
        }

        /** The budget this share belongs to. */
        public LinkBudget budget() {
            return LinkBudget.this;
        }

        @Override
        public void close() {
            leave(this);
        }
    }
}
