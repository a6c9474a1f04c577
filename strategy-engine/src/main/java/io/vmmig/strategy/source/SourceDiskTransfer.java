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
    /** The background push sends nothing new before this System.nanoTime ({@link #holdPushUntil}); 0: no hold. */
    private volatile long holdUntilNanos;
    private boolean caughtUp;            // guarded by window
    private volatile Throwable failure;
    private final TransferCounters counters = new TransferCounters();
    private final PushBandwidth bandwidth;
    /** Set once the remaining set went out: from then on a broken channel waits for the destination's resume. */
    private volatile boolean handedOver;
    private volatile boolean connected = true;
    private final java.util.concurrent.atomic.AtomicInteger resumes = new java.util.concurrent.atomic.AtomicInteger();
    /** Dedup (the pusher's own state): fingerprint batches waiting for their HAVE, and the chunks in them. */
    private final java.util.Map<Integer, PushBatch> awaitingHave = new java.util.HashMap<>();
    private final BitSet chunksAwaitingHave = new BitSet();
    /** HAVE frames received, for the pusher to act on (the delivery thread never sends data). */
    private final java.util.concurrent.ConcurrentLinkedQueue<Frame.Have> haves = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.security.MessageDigest digest = io.vmmig.strategy.dedup.ChunkDigest.sha256();
    private int nextBatch = 1;   // push batches: 1 .. 2^30-1; pull-phase batches from 2^30 on
    /** First chunk of each disk of the address space (one disk: {0}), for the per-disk push counts. */
    private volatile int[] diskFirstChunks = {0};
    private volatile java.util.concurrent.atomic.AtomicLongArray pushedPerDisk = new java.util.concurrent.atomic.AtomicLongArray(1);

    public SourceDiskTransfer(ChunkGeometry geometry, BlockBackend disk, BitSet allocated, PeerChannel channel,
                              SourceOptions options) {
        this(geometry, disk, allocated, channel, options, new PushBandwidth(options.pushBytesPerSecond()));
    }

    /**
     * A transfer whose pushes take their bytes from {@code linkBudget}, a bucket it may share with the transfers
     * of the VM's other disks (one link budget for the VM; {@code options.pushBytesPerSecond()} is then ignored).
     */
    public SourceDiskTransfer(ChunkGeometry geometry, BlockBackend disk, BitSet allocated, PeerChannel channel,
                              SourceOptions options, PushBandwidth linkBudget) {
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
        this.bandwidth = java.util.Objects.requireNonNull(linkBudget, "linkBudget");
        counters.unallocatedBytes.set(geometry.diskSize() - bytesOf(allocated));
        this.pusher = new Thread(this::pushLoop, "vmmig-push");
        this.pusher.setDaemon(true);
    }

    /** Counts pushes per disk from now on: {@code firstChunks[i]} is disk i's first chunk (ascending, from 0). */
    public void countPerDisk(int[] firstChunks) {
        diskFirstChunks = firstChunks.clone();
        pushedPerDisk = new java.util.concurrent.atomic.AtomicLongArray(firstChunks.length);
    }

    /** Bytes pushed so far, per disk ({@link #countPerDisk}). */
    public long[] pushedPerDisk() {
        java.util.concurrent.atomic.AtomicLongArray a = pushedPerDisk;
        long[] out = new long[a.length()];
        for (int i = 0; i < out.length; i++) out[i] = a.get(i);
        return out;
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
        if (options.dedup() && rs.size() > 0) {
            Thread t = new Thread(() -> fingerprintRemaining(rs), "vmmig-pull-fingerprints");
            t.setDaemon(true);
            t.start();
        }
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
            pushRun(run.get(), false, false);   // the guest is paused: no round trip for fingerprints now
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
        } else if (frame instanceof Frame.Have h && h.batch() >= (1 << 30)) {
            int[] lengths = pullBatches.remove(h.batch());
            if (lengths == null || lengths.length != h.count())
                throw new PeerProtocolException("HAVE for unknown pull-phase batch " + h.batch());
            for (int i = 0; i < lengths.length; i++) {
                if (!h.has(i)) continue;
                counters.dedupBytes.addAndGet(lengths[i]);
                counters.dedupChunks.incrementAndGet();
            }
        } else if (frame instanceof Frame.Have h) {
            haves.add(h);
            synchronized (window) {
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
                takeHaves(false);
                Optional<ChunkRun> next = scheduler.nextRun(options.maxRunChunks());
                if (next.isEmpty()) {
                    synchronized (window) {
                        if (!stopPushing && scheduler.pushableCount() == 0 && haves.isEmpty()) {
                            caughtUp = inFlightBytes == 0 && awaitingHave.isEmpty();
                            window.notifyAll();
                            window.wait(100);
                        }
                    }
                    continue;
                }
                pushRun(next.get(), true, options.dedup());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            fail(e);        // an Error too: a silently dead pusher would leave pre-copy waiting for its timeout
        } finally {
            returnUnanswered();
        }
    }

    /**
     * A batch of fingerprinted pieces waiting for the destination's HAVE: per entry its chunk, disk offset
     * and bytes (kept to send the misses).
     */
    private record PushBatch(int[] chunks, long[] offsets, ByteBuffer[] data) { }

    /** The pieces a batch is being filled with (pusher thread only). */
    private static final class BatchBuilder {
        final java.util.List<Integer> chunks = new java.util.ArrayList<>();
        final java.util.List<Long> offsets = new java.util.ArrayList<>();
        final java.util.List<ByteBuffer> data = new java.util.ArrayList<>();
        int size() { return chunks.size(); }
        void add(int chunk, long offset, ByteBuffer piece) {
            chunks.add(chunk);
            offsets.add(offset);
            data.add(piece);
        }
        void clear() {
            chunks.clear();
            offsets.clear();
            data.clear();
        }
    }

    /**
     * Acts on the HAVE frames received: a chunk the destination copied locally is done (its room in the
     * window is given back), the others are sent now as CHUNK_DATA, or, once the push stopped
     * ({@code stopping}), go back to the remaining set. Pusher thread only.
     */
    private void takeHaves(boolean stopping) throws InterruptedException {
        Frame.Have h;
        while ((h = haves.poll()) != null) {
            PushBatch b = awaitingHave.remove(h.batch());
            if (b == null || h.count() != b.chunks().length)
                throw new PeerProtocolException("HAVE for " + (b == null ? "unknown batch " + h.batch()
                        : h.count() + " chunks, batch " + h.batch() + " had " + b.chunks().length));
            long released = 0;
            for (int i = 0; i < b.chunks().length; i++) {
                int c = b.chunks()[i];
                chunksAwaitingHave.clear(c);
                int len = b.data()[i].remaining();
                if (h.has(i)) {
                    released += len;
                    counters.dedupBytes.addAndGet(len);
                    counters.dedupChunks.incrementAndGet();
                } else if (stopping || stopPushing) {
                    released += len;
                    scheduler.pushFailed(new ChunkRun(c, 1));
                } else {
                    sendData(b.offsets()[i], b.data()[i]);
                }
            }
            synchronized (window) {
                inFlightBytes -= released;
                window.notifyAll();
            }
        }
    }

    /** The push stopped (cutover, failure): chunks whose fingerprints are unanswered, or whose data was not sent, stay remaining. */
    private void returnUnanswered() {
        try {
            takeHaves(true);
        } catch (RuntimeException | InterruptedException e) {
            // a bad HAVE at the stop: every chunk still listed below is returned anyway
        }
        for (PushBatch b : awaitingHave.values())
            for (int c : b.chunks()) scheduler.pushFailed(new ChunkRun(c, 1));
        awaitingHave.clear();
        chunksAwaitingHave.clear();
    }

    /** Pull-phase fingerprint batches waiting for their HAVE: the chunk lengths, by batch. */
    private final java.util.Map<Integer, int[]> pullBatches = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger pullBatchIds = new java.util.concurrent.atomic.AtomicInteger(1 << 30);

    /**
     * After the hand-over (the disk here no longer changes): the SHA-256 of every remaining chunk with
     * data, hottest first as the destination pulls, so it copies those it holds instead of pulling them.
     * Ends quietly when the connection goes (the rest is pulled).
     */
    private void fingerprintRemaining(RemainingSet rs) {
        java.security.MessageDigest md = io.vmmig.strategy.dedup.ChunkDigest.sha256();
        BitSet set = rs.chunks();
        Integer[] order = set.stream().boxed().toArray(Integer[]::new);
        java.util.Arrays.sort(order, (a, b) -> {
            int byCount = Integer.compare(rs.counts().get(b), rs.counts().get(a));
            return byCount != 0 ? byCount : Integer.compare(a, b);
        });
        int piece = options.dedupPiece();
        if (geometry.chunkSize() / piece > Frame.MAX_FINGERPRINTS) return;
        int batchMax = Math.min(Frame.MAX_FINGERPRINTS, Math.max(256, 2 * geometry.chunkSize() / piece));   // a chunk's pieces stay in one batch
        PeerChannel ch = channel;
        try {
            for (int next = 0; next < order.length && !finished.isDone(); ) {
                long[] offsets = new long[batchMax];
                int[] lengths = new int[batchMax];
                byte[] sha = new byte[batchMax * Frame.FINGERPRINT_BYTES];
                int k = 0;
                while (next < order.length) {
                    int c = order[next];
                    int len = geometry.lengthOf(c);
                    if (k + (len + piece - 1) / piece > batchMax) break;
                    next++;
                    ByteBuffer buf = ByteBuffer.allocate(len);
                    disk.read(geometry.offsetOf(c), buf).join();
                    buf.flip();
                    if (ChunkPayloads.isZero(buf)) continue;   // a zero chunk crosses as a few bytes anyway
                    for (int at = 0; at < len; at += piece) {
                        ByteBuffer p = buf.slice(at, Math.min(piece, len - at));
                        offsets[k] = geometry.offsetOf(c) + at;
                        lengths[k] = p.remaining();
                        System.arraycopy(io.vmmig.strategy.dedup.ChunkDigest.of(md, p), 0, sha, k * Frame.FINGERPRINT_BYTES, Frame.FINGERPRINT_BYTES);
                        k++;
                    }
                }
                if (k == 0) continue;
                int batch = pullBatchIds.getAndIncrement();
                pullBatches.put(batch, java.util.Arrays.copyOf(lengths, k));
                ch.send(new Frame.Fingerprints(batch, java.util.Arrays.copyOf(offsets, k), java.util.Arrays.copyOf(lengths, k),
                        java.util.Arrays.copyOf(sha, k * Frame.FINGERPRINT_BYTES)));
                counters.fingerprintedChunks.addAndGet(k);
                counters.fingerprintWireBytes.addAndGet(4 + Frame.HEADER_AFTER_LENGTH + 8 + (long) k * (8 + 4 + Frame.FINGERPRINT_BYTES));
            }
        } catch (RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(SourceDiskTransfer.class).info(
                    "fingerprints of the remaining chunks stopped ({}): the rest is pulled", e.toString());
        }
    }

    private void sendData(long offset, ByteBuffer data) throws PeerChannelClosedException {
        sendData(offset, data, 0);
    }

    private void sendData(long offset, ByteBuffer data, long waitedNanos) throws PeerChannelClosedException {
        // a re-push while the first send is unanswered keeps the first send time: its ACK (the first one back)
        // is measured from it, else the sampled RTT shrinks and the push window under-fills the BDP
        pushSentAt.putIfAbsent(offset, System.nanoTime());
        Frame.ChunkData frame = sender.send(channel, 0, offset, data, waitedNanos);
        countPushed(geometry.chunkOf(offset), data.remaining());
        counters.pushedWireBytes.addAndGet(frame.payload().remaining());
        counters.pushedChunks.incrementAndGet();
    }

    /** Bytes of chunk {@code c} pushed, in the totals and its disk's count. */
    private void countPushed(int c, long bytes) {
        counters.pushedBytes.addAndGet(bytes);
        int[] firsts = diskFirstChunks;
        int disk = java.util.Arrays.binarySearch(firsts, c);
        pushedPerDisk.addAndGet(disk >= 0 ? disk : -disk - 2, bytes);
    }

    private void sendFingerprints(BatchBuilder b) throws PeerChannelClosedException {
        int n = b.size();
        if (n == 0) return;
        long[] offsets = new long[n];
        int[] lengths = new int[n];
        byte[] sha = new byte[n * Frame.FINGERPRINT_BYTES];
        for (int i = 0; i < n; i++) {
            offsets[i] = b.offsets.get(i);
            lengths[i] = b.data.get(i).remaining();
            System.arraycopy(io.vmmig.strategy.dedup.ChunkDigest.of(digest, b.data.get(i)), 0, sha, i * Frame.FINGERPRINT_BYTES, Frame.FINGERPRINT_BYTES);
        }
        int batch = nextBatch++;
        awaitingHave.put(batch, new PushBatch(b.chunks.stream().mapToInt(Integer::intValue).toArray(), offsets,
                b.data.toArray(ByteBuffer[]::new)));
        for (int c : b.chunks) chunksAwaitingHave.set(c);
        b.clear();
        channel.send(new Frame.Fingerprints(batch, offsets, lengths, sha));
        counters.fingerprintedChunks.addAndGet(n);
        counters.fingerprintWireBytes.addAndGet(4 + Frame.HEADER_AFTER_LENGTH + 8 + (long) n * (8 + 4 + Frame.FINGERPRINT_BYTES));
    }

    private void pushRun(ChunkRun run, boolean stoppable, boolean dedup) throws InterruptedException {
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
        BatchBuilder batch = new BatchBuilder();
        try {
            for (int c = run.first(); c <= run.last(); c++) {
                if (!pushChunk(c, buf, offset, stoppable, dedup, batch)) {
                    scheduler.pushFailed(new ChunkRun(c, run.last() - c + 1));   // cutover came: what was not sent stays remaining
                    return;
                }
            }
        } finally {
            sendFingerprints(batch);
        }
    }

    /** One chunk of a push run: skipped (zero), fingerprinted into the batch, or sent; false if the push stopped first. */
    private boolean pushChunk(int c, ByteBuffer buf, long offset, boolean stoppable, boolean dedup,
                              BatchBuilder batch) throws InterruptedException {
        {
            int chunkLength = geometry.lengthOf(c);
            ByteBuffer data = buf.slice((int) (geometry.offsetOf(c) - offset), chunkLength);
            boolean zero = ChunkPayloads.isZero(data);
            if (zero && options.targetIsZero() && !everSent.get(c)) {
                counters.zeroSkippedBytes.addAndGet(chunkLength);
                return true;
            }
            if (dedup && !zero) {
                // An older version of this chunk is still waiting for its HAVE: its data (if it is a miss)
                // must cross before these newer bytes are fingerprinted, or it would land after them.
                while (chunksAwaitingHave.get(c)) {
                    synchronized (window) {
                        if (stoppable && stopPushing) return false;
                        checkFailed();
                        if (haves.isEmpty()) window.wait(100);
                    }
                    takeHaves(false);
                }
            }
            long waitStart = System.nanoTime();
            if (!acquire(chunkLength, stoppable)) return false;
            long waited = System.nanoTime() - waitStart;
            if (!zero) everSent.set(c);
            if (dedup && !zero) {
                // In pieces of the destination index's chunk size; a zero piece too (it is copied from nothing there).
                int piece = options.dedupPiece();
                if (batch.size() + (chunkLength + piece - 1) / piece > Frame.MAX_FINGERPRINTS) sendFingerprints(batch);
                for (int at = 0; at < chunkLength; at += piece)
                    batch.add(c, geometry.offsetOf(c) + at, data.slice(at, Math.min(piece, chunkLength - at)));
                return true;
            }
            sendData(geometry.offsetOf(c), data, waited);
            return true;
        }
    }

    /**
     * Takes room in the push window, then waits for the bandwidth limit if one is set; false if
     * pushing stopped meanwhile (a stop wakes both waits at once).
     */
    private boolean acquire(int bytes, boolean stoppable) throws InterruptedException {
        for (;;) {
            takeHaves(false);   // HAVEs give room back and send the misses; never under the window's lock
            synchronized (window) {
                checkFailed();
                if (stoppable && stopPushing) return false;
                long held = stoppable ? holdUntilNanos - System.nanoTime() : 0;
                if (held > 0) {
                    if (haves.isEmpty()) window.wait(Math.max(1, Math.min(100, held / 1_000_000)));
                    continue;
                }
                if (inFlightBytes > 0 && inFlightBytes + bytes > pushWindowBytes()) {
                    if (haves.isEmpty()) window.wait(100);
                    continue;
                }
                long waitNanos = bandwidth.tryTake(bytes, System.nanoTime());
                if (waitNanos > 0) {
                    if (haves.isEmpty()) window.wait(Math.max(1, (waitNanos + 999_999) / 1_000_000));
                    continue;
                }
                inFlightBytes += bytes;
                if (inFlightBytes > peakInFlightBytes) peakInFlightBytes = inFlightBytes;
                return true;
            }
        }
    }

    /**
     * Holds the background push until {@code nanos} (System.nanoTime): nothing new is sent before it, what is in
     * flight is answered as usual, and the pushes the switchover itself needs (the remaining set, pre-copy's final
     * round) are never held. For {@link io.vmmig.strategy.qemu.SwitchoverYield}: the memory stream's last rounds
     * get the link to themselves. A later call replaces the time; a time in the past releases the hold.
     */
    public void holdPushUntil(long nanos) {
        holdUntilNanos = nanos;
        synchronized (window) {
            window.notifyAll();
        }
    }

    /** Bytes pushed and not yet acknowledged now. */
    public long inFlightBytes() {
        synchronized (window) {
            return inFlightBytes;
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
