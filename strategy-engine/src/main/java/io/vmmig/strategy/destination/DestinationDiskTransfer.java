package io.vmmig.strategy.destination;

import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.strategy.ChunkGeometry;
import io.vmmig.strategy.OnDemandLatency;
import io.vmmig.strategy.PullQueue;
import io.vmmig.strategy.peer.ChunkPayloads;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.peer.PeerChannelClosedException;
import io.vmmig.strategy.peer.PeerProtocolException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The destination's half of a hybrid disk transfer: stores pushed chunks, takes the hand-over,
 * pulls the rest through a {@link ChunkPuller}, and tells the source DONE once the disk is complete.
 * {@link #disk()} is what the agent's NBD server serves to the destination QEMU meanwhile.
 *
 * <p>Before the hand-over a broken channel fails the transfer. After it the pull is a durable state:
 * a broken channel only makes the transfer {@link #connected() disconnected} (pulls wait, guest reads
 * of missing chunks wait, nothing is closed), {@link #onLinkLost} tells the owner, which opens a new
 * connection to the source and {@link #resume resumes} on it: RESUME first, then every unanswered
 * PULL again; DONE is sent on the connection that is up when the disk is complete.
 */
public final class DestinationDiskTransfer implements PeerChannel.Handler, AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DestinationDiskTransfer.class);
    private volatile PeerChannel channel;
    private final BlockBackend store;
    private final RemoteSource source;
    private final DestinationDisk disk;
    private final ChunkPuller puller;
    private final ChunkGeometry geometry;
    private final CompletableFuture<Void> complete = new CompletableFuture<>();
    private final AtomicLong pushedBytes = new AtomicLong();
    private final AtomicLong dedupBytes = new AtomicLong();
    private final AtomicLong fingerprinted = new AtomicLong();
    private volatile io.vmmig.strategy.dedup.LocalChunkMatcher localChunks;
    /** REMAINING was read (delivery thread only): fingerprints from now on are of the hand-over's chunks. */
    private boolean remainingReceived;
    /**
     * Works off the source's fingerprints after the hand-over, one frame at a time, off the delivery
     * thread; when 64 frames wait, the delivery thread takes the next itself (the source's stream slows down).
     */
    private final java.util.concurrent.ThreadPoolExecutor pullFingerprints = new java.util.concurrent.ThreadPoolExecutor(
            1, 1, 0, java.util.concurrent.TimeUnit.MILLISECONDS, new java.util.concurrent.ArrayBlockingQueue<>(64), r -> {
                Thread t = new Thread(r, "vmmig-pull-fingerprints");
                t.setDaemon(true);
                return t;
            }, new java.util.concurrent.ThreadPoolExecutor.CallerRunsPolicy());
    private final java.util.Set<CompletableFuture<Void>> pushesInStore = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean cancelled;
    private volatile boolean closed;
    /** Pulls waiting this long with no answer from the source: the connection is taken for dead. */
    public static final Duration STALL = Duration.ofSeconds(8);
    private static final java.util.concurrent.ScheduledExecutorService WATCHDOG =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "vmmig-pull-watchdog");
                t.setDaemon(true);
                return t;
            });
    private volatile boolean connected;
    private volatile boolean doneDelivered;
    private final CompletableFuture<Void> doneSent = new CompletableFuture<>();
    private volatile Runnable onLinkLost = () -> { };
    private final java.util.concurrent.atomic.AtomicInteger resumes = new java.util.concurrent.atomic.AtomicInteger();

    public DestinationDiskTransfer(ChunkGeometry geometry, BlockBackend store, PeerChannel channel, int pullers) {
        this(geometry, store, channel, pullers, Duration.ZERO);
    }

    /** @param backgroundPullDelay how long after the hand-over the background pull begins (demands are served at once) */
    public DestinationDiskTransfer(ChunkGeometry geometry, BlockBackend store, PeerChannel channel, int pullers,
                                   Duration backgroundPullDelay) {
        this(geometry, store, channel, pullers, backgroundPullDelay, null);
    }

    /**
     * A restarted agent's transfer: the pull as {@code restored} (from its journal) left it, no
     * connection to the source yet ({@link #connected()} false: open one and {@link #resume}).
     */
    public static DestinationDiskTransfer restored(ChunkGeometry geometry, BlockBackend store, PullQueue restored, int pullers) {
        return new DestinationDiskTransfer(geometry, store, null, pullers, Duration.ZERO, restored);
    }

    private DestinationDiskTransfer(ChunkGeometry geometry, BlockBackend store, PeerChannel channel, int pullers,
                                    Duration backgroundPullDelay, PullQueue restored) {
        this.channel = channel;
        this.geometry = geometry;
        this.connected = channel != null;
        this.store = store;
        this.source = new RemoteSource(channel);
        this.disk = new DestinationDisk(geometry, store, source);
        this.puller = new ChunkPuller(geometry, disk.handover(), source, store);
        disk.onDemand(puller::demanded);
        if (restored != null) disk.resumeFrom(restored);
        puller.start(pullers, backgroundPullDelay).whenComplete((v, e) -> {
            if (e != null) {
                complete.completeExceptionally(e);
                return;
            }
            store.flush().whenComplete((f, fe) -> {
                if (fe != null) {
                    complete.completeExceptionally(fe);
                    return;
                }
                // Complete before telling the source: once it reads DONE it may close the channel at
                // once, and that close must not look like a failure here. If DONE cannot be sent, the
                // destination is still complete; the source sees the broken channel and reports it.
                complete.complete(null);
                sendDone();
            });
        });
    }

    /**
     * The local data path (see {@code ChunkTransferDestination}): {@link #disk()} is served as the local image's
     * backing node, and pulled chunks enter the image by QEMU's copy-on-read once {@code backingAttached} completes.
     * Call before {@link #start()}.
     */
    public void installByCopyOnRead(CompletableFuture<Void> backingAttached) {
        ArrivedChunks arrived = new ArrivedChunks();
        disk.serveAsBacking(arrived);
        puller.installByCopyOnRead(arrived, backingAttached);
    }

    public void start() {
        if (channel != null) {
            channel.limitHandOver(Math.min(geometry.count(), io.vmmig.strategy.peer.FrameDecoder.MAX_CHUNKS));   // before any frame is read: the hand-over is of this disk
            channel.start(this);
        }
        WATCHDOG.scheduleWithFixedDelay(this::checkStall, 1, 1, java.util.concurrent.TimeUnit.SECONDS);
    }

    /**
     * After the hand-over: pulls unanswered for {@link #STALL} with nothing at all from the source
     * mean the connection is dead even if TCP has not noticed (it retransmits over a cut link for
     * many minutes): close it, so the owner reconnects.
     */
    private void checkStall() {
        if (closed || complete.isDone()) throw new java.util.concurrent.CancellationException("stop");   // ends the schedule
        if (!connected || !disk.handover().isDone()) return;
        java.time.Duration stalled = source.stalledFor();
        if (stalled.compareTo(STALL) < 0) return;
        PeerChannel ch = channel;
        if (ch == null) return;
        LOG.warn("no answer from the source {} for {} s with {} pulls waiting: closing the connection to open a new one",
                ch.remote(), stalled.toSeconds(), source.pendingCount());
        ch.close();
    }

    private synchronized void sendDone() {
        if (doneDelivered || channel == null) return;
        try {
            channel.send(new Frame.Done());
            doneDelivered = true;
            doneSent.complete(null);
        } catch (PeerChannelClosedException ce) {
            LOG.warn("disk complete, but telling the source failed (told again on the next connection): {}", ce.getMessage());
        }
    }

    /** Called (on the channel's thread) when the channel broke after the hand-over: open a new one and {@link #resume}. */
    public void onLinkLost(Runnable r) {
        this.onLinkLost = r;
    }

    /** Whether the current channel to the source is up (false between a cut after the hand-over and the resume). */
    public boolean connected() {
        return connected;
    }

    /** Whether the source was told DONE (on a channel that took it). */
    public boolean doneDelivered() {
        return doneDelivered;
    }

    /** Completes (never exceptionally) once the source was told DONE, on whichever connection was up then. */
    public CompletableFuture<Void> doneSent() {
        return doneSent;
    }

    /** How many times the pull resumed on a new channel. */
    public int resumes() {
        return resumes.get();
    }

    /**
     * Goes on over {@code next}, a new authenticated connection to the source: RESUME (what is here),
     * then every unanswered PULL again, then DONE if the disk is already complete.
     */
    public synchronized void resume(PeerChannel next) throws PeerChannelClosedException {
        PullQueue q = disk.handover().getNow(null);
        if (q == null) throw new IllegalStateException("resume before the hand-over");
        PeerChannel old = channel;
        channel = next;
        next.limitHandOver(0);   // the hand-over happened: a REMAINING on a resumed connection is refused
        next.start(this);
        int missing = q.notPresentCount();
        next.send(new Frame.Resume(Math.max(0, q.handedOverCount() - missing), missing));
        int resent = source.attach(next);
        connected = true;
        resumes.incrementAndGet();
        LOG.info("pull resumed over {}: {} chunks missing, {} pulls sent again", next.remote(), missing, resent);
        if (old != null && old != next) old.close();
        if (complete.isDone() && !complete.isCompletedExceptionally()) sendDone();
    }

    /** The guest's disk as the destination QEMU must see it until the transfer is complete. */
    public DestinationDisk disk() {
        return disk;
    }

    /** Completes when every chunk is local and flushed, and the source was told DONE. */
    public CompletableFuture<Void> complete() {
        return complete;
    }

    public boolean cancelled() {
        return cancelled;
    }

    public long pushedBytes() {
        return pushedBytes.get();
    }

    /**
     * Answer the source's FINGERPRINTS from these local images (seed 003): a chunk found and verified
     * here is copied from the local image instead of crossing. Without it every fingerprint is a miss.
     */
    public void dedupFrom(io.vmmig.strategy.dedup.LocalChunkMatcher matcher) {
        this.localChunks = matcher;
    }

    /** Pushed bytes copied from the local images (their fingerprints matched, verified by SHA-256). */
    public long dedupBytes() {
        return dedupBytes.get();
    }

    /** Local candidates refused because their SHA-256 differed from the source's. */
    public long dedupRejected() {
        io.vmmig.strategy.dedup.LocalChunkMatcher m = localChunks;
        return m == null ? 0 : m.rejected();
    }

    /** Chunks the source fingerprinted. */
    public long fingerprintedChunks() {
        return fingerprinted.get();
    }

    public long pulledBytes() {
        return puller.bytesPulled();
    }

    public RemoteSource source() {
        return source;
    }

    public ChunkPuller puller() {
        return puller;
    }

    public PullQueue.PullStats pullStats() {
        PullQueue q = disk.handover().getNow(null);
        return q == null ? null : q.stats();
    }

    /** Latency of the on-demand pulls so far (none before the hand-over). */
    public OnDemandLatency onDemandLatency() {
        PullQueue q = disk.handover().getNow(null);
        return q == null ? OnDemandLatency.NONE : q.onDemandLatency();
    }

    /** The on-demand pull latencies (nanoseconds) from the {@code from}-th on; see {@link PullQueue#onDemandLatencyNanos}. */
    public long[] onDemandLatencyNanos(int from) {
        PullQueue q = disk.handover().getNow(null);
        return q == null ? new long[0] : q.onDemandLatencyNanos(from);
    }

    @Override
    public void onFrame(PeerChannel ch, Frame frame) {
        if (frame instanceof Frame.ChunkData d) {
            if (d.requestId() != 0) {
                source.onChunkData(d);
                return;
            }
            ByteBuffer data = ByteBuffer.allocate(d.length());
            ChunkPayloads.decodeInto(d, data);
            CompletableFuture<Void> stored = disk.storePush(d.offset(), data.flip());
            pushesInStore.add(stored);
            stored.whenComplete((v, e) -> {
                pushesInStore.remove(stored);
                if (e != null) {
                    fail(e);
                    return;
                }
                pushedBytes.addAndGet(d.length());
                try {
                    ch.send(new Frame.Ack(d.offset(), d.length()));
                } catch (PeerChannelClosedException ce) {
                    fail(ce);
                }
            });
        } else if (frame instanceof Frame.Fingerprints f) {
            onFingerprints(ch, f);
        } else if (frame instanceof Frame.Remaining r) {
            if (r.set().counts().chunks() != geometry.count())
                throw new PeerProtocolException("hand-over of a " + r.set().counts().chunks() + "-chunk disk for this "
                        + geometry.count() + "-chunk disk");
            remainingReceived = true;
            // Pushes precede REMAINING on the channel; let their store writes land before the pull
            // can install newer bytes of the same chunks.
            CompletableFuture.allOf(pushesInStore.toArray(CompletableFuture[]::new))
                    .whenComplete((v, e) -> disk.handOver(r.set()));
        } else if (frame instanceof Frame.Cancel c) {
            cancelled = true;
            fail(new IllegalStateException("source cancelled the migration: " + c.reason()));
        } else if (frame instanceof Frame.Error e && disk.handover().isDone()) {
            // after the hand-over the guest runs on these bytes: a failed read at the source is retried, never fatal here
            LOG.warn("source {} reported during the pull: {}; reconnecting to ask again", ch.remote(), e.message());
            ch.close();
        } else if (frame instanceof Frame.Error e) {
            fail(new IllegalStateException("source " + ch.remote() + " failed: " + e.message()));
        } else if (!(frame instanceof Frame.Unknown)) {
            throw new PeerProtocolException("unexpected " + frame.type() + " frame at the destination");
        }
    }

    /**
     * Looks every fingerprinted chunk up among the local images; a verified match is stored like a push
     * (in frame order, so a later CHUNK_DATA of the same chunk lands after it). HAVE goes back once the
     * matches are stored, the way an ACK follows a push.
     */
    private void onFingerprints(PeerChannel ch, Frame.Fingerprints f) {
        for (int i = 0; i < f.count(); i++)
            if (f.offset(i) + f.length(i) > geometry.diskSize() || f.length(i) > geometry.chunkSize())
                throw new PeerProtocolException("fingerprinted range " + f.offset(i) + "+" + f.length(i) + " outside this "
                        + geometry.diskSize() + "-byte disk or longer than a chunk (" + geometry.chunkSize() + ")");
        if (remainingReceived) {
            // after REMAINING (its hand-over may still wait for the last pushes' stores): pull-phase fingerprints
            pullFingerprints.execute(() -> {
                disk.handover().join();
                onPullFingerprints(ch, f);
            });
            return;
        }
        io.vmmig.strategy.dedup.LocalChunkMatcher m = localChunks;
        java.util.BitSet have = new java.util.BitSet(f.count());
        java.util.List<CompletableFuture<Void>> stores = new java.util.ArrayList<>();
        fingerprinted.addAndGet(f.count());
        for (int i = 0; i < f.count() && m != null; i++) {
            ByteBuffer local = m.find(f.digest(i), f.length(i));
            if (local == null) continue;
            have.set(i);
            CompletableFuture<Void> stored = disk.storePush(f.offset(i), local);
            pushesInStore.add(stored);
            stores.add(stored);
            int len = f.length(i);
            stored.whenComplete((v, e) -> {
                pushesInStore.remove(stored);
                if (e == null) dedupBytes.addAndGet(len);
            });
        }
        CompletableFuture.allOf(stores.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
            if (e != null) {
                fail(e);
                return;
            }
            try {
                ch.send(new Frame.Have(f.batch(), f.count(), have));
            } catch (PeerChannelClosedException ce) {
                fail(ce);
            }
        });
    }

    /**
     * After the hand-over the source fingerprints the chunks still missing (its disk no longer changes):
     * each one nobody pulls yet and found here is installed from the local image ({@link ChunkPuller#installLocal});
     * the others are pulled as before. HAVE tells the source which (for its report).
     */
    private void onPullFingerprints(PeerChannel ch, Frame.Fingerprints f) {
        io.vmmig.strategy.dedup.LocalChunkMatcher m = localChunks;
        java.util.BitSet have = new java.util.BitSet(f.count());
        fingerprinted.addAndGet(f.count());
        // The entries are the pieces of whole chunks, in order: a chunk is installed locally only if every piece is found.
        for (int i = 0; i < f.count() && m != null; ) {
            long offset = f.offset(i);
            int chunk = offset % geometry.chunkSize() == 0 && offset < geometry.diskSize() ? (int) (offset / geometry.chunkSize()) : -1;
            int j = i;
            long end = offset;
            while (j < f.count() && f.offset(j) == end && end < offset + (chunk < 0 ? 0 : geometry.lengthOf(chunk))) {
                end += f.length(j);
                j++;
            }
            if (chunk < 0 || j == i || end != offset + geometry.lengthOf(chunk)) {
                i = Math.max(j, i + 1);   // not the pieces of one whole chunk: left to the pull
                continue;
            }
            int from = i;
            int to = j;
            int len = geometry.lengthOf(chunk);
            boolean installed = puller.installLocal(chunk, () -> {
                ByteBuffer whole = ByteBuffer.allocate(len);
                for (int k = from; k < to; k++) {
                    ByteBuffer piece = m.find(f.digest(k), f.length(k));
                    if (piece == null) return null;
                    whole.put(piece);
                }
                return whole.flip();
            });
            if (installed) {
                have.set(from, to);
                dedupBytes.addAndGet(len);
            }
            i = j;
        }
        try {
            ch.send(new Frame.Have(f.batch(), f.count(), have));
        } catch (PeerChannelClosedException ce) {
            // the pull goes on over the next connection; the source's report just counts fewer local copies
        }
    }

    @Override
    public void onClosed(PeerChannel ch, Throwable cause) {
        if (ch != channel) return;   // an old channel, replaced by a resume
        if (disk.handover().isDone() && !cancelled && !(complete.isDone() && doneDelivered)) {
            connected = false;
            LOG.warn("connection to the source {} lost during the pull ({}): pulls wait for the next connection",
                    ch.remote(), cause == null ? "closed" : cause.getMessage());
            onLinkLost.run();
            return;
        }
        if (!complete.isDone()) fail(cause != null ? cause : new PeerChannelClosedException("source closed the channel", null));
    }

    private void fail(Throwable cause) {
        source.failAll(cause);
        complete.completeExceptionally(cause);
    }

    @Override
    public void close() {
        closed = true;
        pullFingerprints.shutdownNow();
        puller.close();
        if (channel != null) channel.close();
    }
}
