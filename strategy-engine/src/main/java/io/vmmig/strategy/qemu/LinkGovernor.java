package io.vmmig.strategy.qemu;

import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.MigrateSetParameters;
import io.vmmig.qmp.command.QmpCommands.QueryMigrate;
import io.vmmig.qmp.command.QmpResults.MigrationInfo;
import io.vmmig.strategy.link.LinkBudget;
import io.vmmig.strategy.link.LinkSplit;
import io.vmmig.strategy.source.PushBandwidth;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one source migration inside its {@link LinkBudget.Share} with its disk push and its memory stream
 * together: every {@link #INTERVAL} it measures what each sent (the push's wire bytes, QEMU's
 * {@code ram.transferred}), splits the share's rate now ({@link LinkSplit}: half each, the unused part to
 * the other) and sets the push's token bucket and, when it moved by more than a tenth, QEMU's
 * {@code max-bandwidth}. It runs from the push's start to the switchover (after it the guest's memory is at
 * the destination and the pull is limited there).
 */
public final class LinkGovernor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LinkGovernor.class);
    public static final Duration INTERVAL = Duration.ofMillis(500);

    private final QmpClient qmp;
    private final String migrationId;
    private final LinkBudget.Share share;
    private final long memoryCap;
    private PushBandwidth push;
    private LongSupplier pushedWireBytes;
    private ScheduledExecutorService ticker;
    private volatile boolean memoryActive;
    private long lastNanos;
    private long lastDisk;
    private long lastMemory;
    private long memoryRate;   // the max-bandwidth set on QEMU last, 0 before
    private volatile LinkSplit split;

    /**
     * @param memoryCap the memory stream's own cap (the user's {@code max-bandwidth}), 0 for none
     */
    public LinkGovernor(QmpClient qmp, String migrationId, LinkBudget.Share share, long memoryCap) {
        this.qmp = qmp;
        this.migrationId = migrationId;
        this.share = share;
        this.memoryCap = memoryCap;
    }

    /**
     * The split before anything was measured: the push alone takes the share until memory starts, then
     * half each ({@link LinkSplit#even}).
     */
    public LinkSplit initial(boolean memoryActive) {
        return memoryActive ? LinkSplit.even(budgetNow(), memoryCap) : LinkSplit.of(budgetNow(), 0, 0, false, memoryCap);
    }

    /** Starts governing {@code push}, whose sent bytes {@code pushedWireBytes} counts. */
    public synchronized void start(PushBandwidth push, LongSupplier pushedWireBytes) {
        this.push = push;
        this.pushedWireBytes = pushedWireBytes;
        this.lastNanos = System.nanoTime();
        this.lastDisk = pushedWireBytes.getAsLong();
        LinkSplit s = initial(false);
        push.setRate(s.diskBytesPerSecond());   // before memory starts (and when memory has its own limit) the disk takes it all
        split = s;
        ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vmmig-link-" + migrationId);
            t.setDaemon(true);
            return t;
        });
        ticker.scheduleWithFixedDelay(this::tickSafely, INTERVAL.toMillis(), INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** QEMU's memory stream started with {@code maxBandwidth}: from now on the two share the budget. */
    public synchronized void memoryStarted(long maxBandwidth) {
        memoryRate = maxBandwidth;
        lastMemory = 0;
        memoryActive = true;
        if (push != null && share.coversMemory()) push.setRate(initial(true).diskBytesPerSecond());
    }

    /** The split last applied (null before {@link #start}). */
    public LinkSplit split() {
        return split;
    }

    private long budgetNow() {
        long b = share.bytesPerSecond();
        return b == 0 ? Long.MAX_VALUE / 4 : b;
    }

    private void tickSafely() {
        try {
            tick();
        } catch (RuntimeException e) {
            // QEMU busy or gone (the switchover): the limits stay as they are until the next tick or close
            LOG.debug("migration {}: link budget tick: {}", migrationId, e.toString());
        }
    }

    private synchronized void tick() {
        long now = System.nanoTime();
        double seconds = Math.max(1e-3, (now - lastNanos) / 1e9);
        long disk = pushedWireBytes.getAsLong();
        long diskRate = (long) ((disk - lastDisk) / seconds);
        long memoryRateMeasured = 0;
        if (memoryActive) {
            MigrationInfo info = qmp.call(new QueryMigrate(), Duration.ofSeconds(2));
            long transferred = info.ram() == null ? lastMemory : info.ram().transferred();
            memoryRateMeasured = (long) (Math.max(0, transferred - lastMemory) / seconds);
            lastMemory = transferred;
        }
        lastNanos = now;
        lastDisk = disk;
        if (!share.coversMemory()) {   // memory has a limit of its own: the disk alone takes the share
            push.setRate(budgetNow());
            split = new LinkSplit(budgetNow(), 0);
            return;
        }
        LinkSplit s = LinkSplit.of(budgetNow(), diskRate, memoryRateMeasured, memoryActive, memoryCap);
        push.setRate(s.diskBytesPerSecond());
        if (memoryActive && Math.abs(s.memoryBytesPerSecond() - memoryRate) > memoryRate / 10) {
            qmp.call(MigrateSetParameters.bandwidthAndDowntime(s.memoryBytesPerSecond(), null));
            memoryRate = s.memoryBytesPerSecond();
        }
        split = s;
    }

    /** Stops adjusting (at the switchover or a failure); the limits set last stay. */
    @Override
    public synchronized void close() {
        if (ticker != null) ticker.shutdownNow();
        share.close();
    }
}
