package io.vmmig.strategy.source;

import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.ChunkRun;
import io.vmmig.strategy.PushScheduler;
import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.peer.ChunkPayloads;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.peer.PeerChannelClosedException;
import io.vmmig.strategy.peer.PeerProtocolException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.BitSet;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * The source's half of a hybrid disk transfer: pushes chunks in the background while the guest
 * runs here, hands the remaining set over at cutover, then answers the destination's pulls until it
 * says DONE. Dirty epochs come from outside ({@link #onEpoch}): the QEMU bitmap rotation in
 * production, the test in tests.
 */
public final class SourceDiskTransfer implements PeerChannel.Handler, AutoCloseable {
    private final ChunkGeometry geometry;
    private final BlockBackend disk;
    private volatile PeerChannel channel;
    private final SourceOptions options;
    private final PushScheduler scheduler;
    private final PullResponder responder;
    private final ChunkSender sender;
    /** The push window beyond {@code maxInFlightBytes} when the link's bandwidth-delay product needs more. */
    private final io.vmmig.strategy.InFlightWindow pushWindow;
    private final java.util.Map<Long, Long> pushSentAt = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile long peakInFlightBytes;
    /** Most bytes pushed and not yet acknowledged, whatever the link (256 MiB). */
    public static final long MAX_PUSH_WINDOW_BYTES = 256L << 20;
    private final BitSet everSent = new BitSet();
    private final Object window = new Object();
    private final CompletableFuture<Void> finished = new CompletableFuture<>();
    private final Thread pusher;
    private long inFlightBytes;          // guarded by window
    private volatile boolean stopPushing;
    private boolean caughtUp;            // guarded by window
    private volatile Throwable failure;
    private final TransferCounters counters = new TransferCounters();
    private final PushBandwidth bandwidth;
    /** Set once the remaining set went out: from then on a broken channel waits for the destination's resume. */
    private volatile boolean handedOver;
    private volatile boolean connected = true;
    private final java.util.concurrent.atomic.AtomicInteger resumes = new java.util.concurrent.atomic.AtomicInteger();

    public SourceDiskTransfer(ChunkGeometry geometry, BlockBackend disk, BitSet allocated, PeerChannel channel,
                              SourceOptions options) {
        if (disk.size() != geometry.diskSize())
            throw new IllegalArgumentException("disk of " + disk.size() + " bytes, geometry says " + geometry.diskSize());
        this.geometry = geometry;
        this.disk = disk;
        this.channel = channel;
        this.options = options;
        this.scheduler = new PushScheduler(geometry, allocated, options.threshold());
        this.sender = new ChunkSender(options.compression());
        this.pushWindow = new io.vmmig.strategy.InFlightWindow(geometry.chunkSize(), 1, MAX_PUSH_WINDOW_BYTES);
        this.responder = new PullResponder(disk, channel, sender, 2);
        this.bandwidth = new PushBandwidth(options.pushBytesPerSecond());
        counters.unallocatedBytes.set(geometry.diskSize() - bytesOf(allocated));
        this.pusher = new Thread(this::pushLoop, "vmmig-push");
        this.pusher.setDaemon(true);
    }

    /** Starts reading the channel and, unless pushing is off (post-copy), pushing. */
    public void start() {
        channel.start(this);
        if (options.push()) pusher.start();
    }

    /** A dirty-bitmap epoch ended with these chunks written. */
    public void onEpoch(BitSet dirtyChunks) {
        synchronized (window) {
            scheduler.onEpoch(dirtyChunks);
            caughtUp = false;
            window.notifyAll();
        }
    }

    /**
     * Cutover, while the source guest is paused: stops pushing (chunks not yet sent go back to the
     * remaining set), adds the final epoch and sends the remaining set. Pushes already sent need no
     * acknowledgement first: they precede the REMAINING frame on the channel and the destination
     * stores them before it takes the hand-over, so the pause lasts one epoch read, not one window.
     */
    public RemainingSet cutover(BitSet finalDirty, Duration timeout) throws TimeoutException, InterruptedException {
        stopPusher(timeout);
        scheduler.onEpoch(finalDirty);
        RemainingSet rs = scheduler.remainingSet();
        handedOver = true;   // before the send: once REMAINING may be out, a cut waits for a resume
        channel.send(new Frame.Remaining(rs));
        counters.remainingAtCutover.set(rs.size());
        return rs;
    }

    /**
     * Pre-copy's last round, while the source guest is paused: stops the background push, adds the
     * final epoch, sends every remaining chunk (this is the downtime pre-copy pays), then an empty
     * remaining set: the destination has nothing to pull.
     */
    public long finalRound(BitSet finalDirty, Duration timeout) throws TimeoutException, InterruptedException {
        stopPusher(timeout);
        scheduler.onEpoch(finalDirty);
        long before = counters.pushedBytes.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        Optional<ChunkRun> run;
        while ((run = scheduler.nextRun(options.maxRunChunks())).isPresent()) {
            if (System.nanoTime() > deadline) throw new TimeoutException("final pre-copy round took longer than " + timeout);
            pushRun(run.get(), false);
        }
        RemainingSet rs = scheduler.remainingSet();
        if (rs.size() != 0) throw new IllegalStateException(rs.size() + " chunks left after the final round (threshold too low?)");
        handedOver = true;   // before the send: once REMAINING may be out, a cut waits for a resume
        channel.send(new Frame.Remaining(rs));
        return counters.pushedBytes.get() - before;
    }

    /**
     * Tells the pusher to stop after the chunk it is on, without waiting for it (the guest is paused: the
     * pusher winds down while the last epoch is read); {@link #cutover} then waits for it.
     */
    public void stopPushingSoon() {
        stopPushing = true;
        synchronized (window) {
            window.notifyAll();
        }
    }

    private void stopPusher(Duration timeout) throws TimeoutException, InterruptedException {
        stopPushingSoon();
        if (pusher.isAlive()) pusher.join(Math.max(1, timeout.toMillis()));
        if (pusher.isAlive()) throw new TimeoutException("push did not stop within " + timeout);
        checkFailed();
    }

    /** Completes when the destination said DONE (it has everything); fails if the transfer broke. */
    public CompletableFuture<Void> finished() {
        return finished;
    }

    /**
     * Whether the push has nothing left to do until the next epoch: every pushable chunk was sent
     * and acknowledged (hot chunks may remain).
     */
    public boolean caughtUp() {
        synchronized (window) {
            return caughtUp && inFlightBytes == 0;
        }
    }

    public PushScheduler scheduler() {
        return scheduler;
    }

    public TransferCounters counters() {
        counters.pulledBytes.set(responder.bytesSent());
        counters.pulledWireBytes.set(responder.wireBytesSent());
        counters.compressedChunks.set(sender.compressedChunks());
        counters.incompressibleChunks.set(sender.rawFallbacks());
        counters.compressMillis.set(sender.compressNanos() / 1_000_000);
        counters.compressionWindows.set(sender.adaptive().windows());
        counters.compressionWindowsOn.set(sender.adaptive().windowsOn());
        counters.compressionSwitches.set(sender.adaptive().switches());
        return counters;
    }

    /** Cancels before cutover: tells the destination and stops. */
    public void cancel(String reason) {
        stopPushing = true;
        channel.offer(new Frame.Cancel(reason));   // never waits: the link may be what failed
        close();
    }

    /**
     * The destination opened a new connection to resume the pull (after the hand-over, the link broke
     * or an agent restarted): pulls are answered there from now on.
     */
    public void resumeOn(PeerChannel next) {
        if (!handedOver) throw new IllegalStateException("resume before the hand-over");
        PeerChannel old = channel;
        responder.attach(next);
        channel = next;
        connected = true;
        resumes.incrementAndGet();
        next.start(this);
        if (old != next) old.close();
    }

    /** Whether the destination's current connection is up. */
    public boolean connected() {
        return connected;
    }

    /** How many times the destination resumed the pull on a new connection. */
    public int resumes() {
        return resumes.get();
    }

    @Override
    public void onFrame(PeerChannel ch, Frame frame) {
        if (ch != channel) return;   // a late frame of a connection a resume replaced
        if (frame instanceof Frame.Resume r) {
            org.slf4j.LoggerFactory.getLogger(SourceDiskTransfer.class).info("destination {} resumed the pull: {} chunks installed, {} missing",
                    ch.remote(), r.installedChunks(), r.missingChunks());
        } else if (frame instanceof Frame.Ack a) {
            Long sentAt = pushSentAt.remove(a.offset());
            if (sentAt != null) pushWindow.answered(a.length(), sentAt, System.nanoTime());
            synchronized (window) {
                inFlightBytes -= a.length();
                window.notifyAll();
            }
        } else if (frame instanceof Frame.Pull p) {
            responder.onPull(p);
        } else if (frame instanceof Frame.Done) {
            finished.complete(null);
        } else if (frame instanceof Frame.Error e) {
            fail(new IllegalStateException("destination " + ch.remote() + " failed: " + e.message()));
        } else if (!(frame instanceof Frame.Unknown)) {
            throw new PeerProtocolException("unexpected " + frame.type() + " frame at the source");
        }
    }

    @Override
    public void onClosed(PeerChannel ch, Throwable cause) {
        if (ch != channel) return;
        if (handedOver && !finished.isDone() && failure == null) {
            // The guest may already run at the destination on these bytes: wait for its resume, never give up here.
            connected = false;
            org.slf4j.LoggerFactory.getLogger(SourceDiskTransfer.class).warn(
                    "connection to the destination {} lost after the hand-over ({}): waiting for it to resume",
                    ch.remote(), cause == null ? "closed" : cause.getMessage());
            return;
        }
        if (!finished.isDone()) fail(cause != null ? cause : new PeerChannelClosedException("channel closed", null));
    }

    private void fail(Throwable cause) {
        failure = cause;
        stopPushing = true;
        finished.completeExceptionally(cause);
        synchronized (window) {
            window.notifyAll();
        }
    }

    private void checkFailed() {
        if (failure != null) throw new IllegalStateException("disk transfer failed: " + failure.getMessage(), failure);
    }

    private void pushLoop() {
        try {
            while (!stopPushing) {
                Optional<ChunkRun> next = scheduler.nextRun(options.maxRunChunks());
                if (next.isEmpty()) {
                    synchronized (window) {
                        if (!stopPushing && scheduler.pushableCount() == 0) {
                            caughtUp = inFlightBytes == 0;
                            window.notifyAll();
                            window.wait(100);
                        }
                    }
                    continue;
                }
                pushRun(next.get(), true);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            fail(e);        // an Error too: a silently dead pusher would leave pre-copy waiting for its timeout
        }
    }

    private void pushRun(ChunkRun run, boolean stoppable) throws InterruptedException {
        long offset = geometry.offsetOf(run.first());
        int length = (int) (geometry.offsetOf(run.last()) + geometry.lengthOf(run.last()) - offset);
        ByteBuffer buf = ByteBuffer.allocate(length);
        try {
            disk.read(offset, buf).join();
        } catch (RuntimeException e) {
            scheduler.pushFailed(run);
            throw e;
        }
        buf.flip();
        counters.pushRuns.incrementAndGet();
        for (int c = run.first(); c <= run.last(); c++) {
            int chunkLength = geometry.lengthOf(c);
            ByteBuffer data = buf.slice((int) (geometry.offsetOf(c) - offset), chunkLength);
            boolean zero = ChunkPayloads.isZero(data);
            if (zero && options.targetIsZero() && !everSent.get(c)) {
                counters.zeroSkippedBytes.addAndGet(chunkLength);
                continue;
            }
            long waitStart = System.nanoTime();
            if (!acquire(chunkLength, stoppable)) {
                // Cutover came: what was not sent stays remaining.
                scheduler.pushFailed(new ChunkRun(c, run.last() - c + 1));
                return;
            }
            pushSentAt.put(geometry.offsetOf(c), System.nanoTime());
            Frame.ChunkData frame = sender.send(channel, 0, geometry.offsetOf(c), data, System.nanoTime() - waitStart);
            if (!zero) everSent.set(c);
            counters.pushedBytes.addAndGet(chunkLength);
            counters.pushedWireBytes.addAndGet(frame.payload().remaining());
            counters.pushedChunks.incrementAndGet();
        }
    }

    /**
     * Takes room in the push window, then waits for the bandwidth limit if one is set; false if
     * pushing stopped meanwhile (a stop wakes both waits at once).
     */
    private boolean acquire(int bytes, boolean stoppable) throws InterruptedException {
        synchronized (window) {
            while (inFlightBytes > 0 && inFlightBytes + bytes > pushWindowBytes()) {
                checkFailed();
                if (stoppable && stopPushing) return false;
                window.wait(100);
            }
            long waitNanos;
            while ((waitNanos = bandwidth.tryTake(bytes, System.nanoTime())) > 0) {
                checkFailed();
                if (stoppable && stopPushing) return false;
                window.wait(Math.max(1, (waitNanos + 999_999) / 1_000_000));
            }
            if (stoppable && stopPushing) return false;
            inFlightBytes += bytes;
            if (inFlightBytes > peakInFlightBytes) peakInFlightBytes = inFlightBytes;
            return true;
        }
    }

    /**
     * Bytes that may be pushed and not yet acknowledged: the configured window, or twice the measured
     * bandwidth-delay product when that is more ({@link io.vmmig.strategy.InFlightWindow}).
     */
    public long pushWindowBytes() {
        return Math.max(options.maxInFlightBytes(), (long) pushWindow.depth() * geometry.chunkSize());
    }

    /** Most bytes pushed and not yet acknowledged at once so far. */
    public long peakInFlightBytes() {
        return peakInFlightBytes;
    }

    /** The pushes' shortest round trip (CHUNK_DATA to ACK) in microseconds, -1 if none yet. */
    public long pushRttMicros() {
        return pushWindow.minRttMicros();
    }

    private long bytesOf(BitSet chunks) {
        long n = 0;
        for (int c = chunks.nextSetBit(0); c >= 0; c = chunks.nextSetBit(c + 1)) n += geometry.lengthOf(c);
        return n;
    }

    @Override
    public void close() {
        stopPushing = true;
        pusher.interrupt();
        responder.close();
        channel.close();
    }
}
