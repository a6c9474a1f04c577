package io.vmmig.strategy.destination;

import io.vmmig.strategy.peer.ChunkPayloads;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.Frame.Priority;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.peer.PeerChannelClosedException;
import io.vmmig.strategy.peer.PeerProtocolException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The source seen from the destination: PULL frames out, CHUNK_DATA answers matched by request id.
 * The session that owns the channel hands every answer to {@link #onChunkData} and a broken channel
 * to {@link #failAll}, which fails every pending read (before the hand-over: the migration fails).
 *
 * <p>After the hand-over a broken channel is not a failure: the pending reads stay pending (a guest
 * read waiting for one waits longer), new reads queue up, and {@link #attach} of the next channel
 * sends every pending PULL again there, with its id. An answer that was under way on the old
 * channel never arrives; one that does arrive twice is ignored and counted ({@link #lateAnswers}).
 */
public final class RemoteSource implements ChunkSource {
    private record Pending(long offset, ByteBuffer dst, Priority priority, CompletableFuture<Void> done) {}

    private final Object lock = new Object();
    private volatile PeerChannel channel;
    private final Map<Long, Pending> pending = new TreeMap<>();   // guarded by lock; by id, so resent in order
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong bytesReceived = new AtomicLong();
    private final AtomicLong resentPulls = new AtomicLong();
    private final AtomicLong lateAnswers = new AtomicLong();
    private volatile int attachments = 1;
    /** When the source last answered, or when a pull was asked with none pending (System.nanoTime). */
    private volatile long lastProgressNanos = System.nanoTime();
    private volatile Throwable failure;

    /** @param channel the connection to the source; null: none yet (a restarted agent, until {@link #attach}) */
    public RemoteSource(PeerChannel channel) {
        this.channel = channel;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst, Priority priority) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        synchronized (lock) {
            if (failure != null) return CompletableFuture.failedFuture(failure);
            long id = ids.incrementAndGet();
            if (pending.isEmpty()) lastProgressNanos = System.nanoTime();
            pending.put(id, new Pending(offset, dst, priority, done));
            try {
                if (channel != null) channel.send(new Frame.Pull(id, offset, dst.remaining(), priority));
            } catch (PeerChannelClosedException e) {
                // the link is down: the PULL goes out on the next channel (attach), or fails with failAll
            }
        }
        return done;
    }

    /**
     * The pull goes on over {@code next} (a new connection to the source): every PULL still
     * unanswered is sent again on it. Returns how many.
     */
    public int attach(PeerChannel next) throws PeerChannelClosedException {
        synchronized (lock) {
            channel = next;
            attachments++;
            lastProgressNanos = System.nanoTime();
            int n = 0;
            for (Map.Entry<Long, Pending> e : pending.entrySet()) {
                Pending p = e.getValue();
                next.send(new Frame.Pull(e.getKey(), p.offset(), p.dst().remaining(), p.priority()));
                n++;
            }
            resentPulls.addAndGet(n);
            return n;
        }
    }

    /** An answer to a PULL arrived. */
    public void onChunkData(Frame.ChunkData data) {
        Pending p;
        synchronized (lock) {
            p = pending.remove(data.requestId());
        }
        lastProgressNanos = System.nanoTime();
        if (p == null) {
            if (attachments > 1 && data.requestId() <= ids.get()) {
                lateAnswers.incrementAndGet();   // answered on the old channel and again here: the first one counted
                return;
            }
            throw new PeerProtocolException("answer to unknown pull request " + data.requestId());
        }
        try {
            ChunkPayloads.decodeInto(data, p.dst());
        } catch (PeerProtocolException e) {
            p.done().completeExceptionally(e);
            throw e;
        }
        bytesReceived.addAndGet(data.length());
        p.done().complete(null);
    }

    /** The source answered a PULL with an error, or the channel broke for good: every pending read fails. */
    public void failAll(Throwable cause) {
        List<Pending> all;
        synchronized (lock) {
            failure = cause;
            all = new ArrayList<>(pending.values());
            pending.clear();
        }
        all.forEach(p -> p.done().completeExceptionally(cause));
    }

    public int pendingCount() {
        synchronized (lock) {
            return pending.size();
        }
    }

    /**
     * How long pulls have been waiting with no answer at all from the source (zero when none waits):
     * what tells a dead connection that TCP still holds (a cut link retransmits for minutes) from a slow one.
     */
    public java.time.Duration stalledFor() {
        synchronized (lock) {
            if (pending.isEmpty()) return java.time.Duration.ZERO;
        }
        return java.time.Duration.ofNanos(Math.max(0, System.nanoTime() - lastProgressNanos));
    }

    public long bytesReceived() {
        return bytesReceived.get();
    }

    /** PULLs sent again on a new channel after the link broke. */
    public long resentPulls() {
        return resentPulls.get();
    }

    /** Answers that arrived for a request already answered (after a resume); ignored. */
    public long lateAnswers() {
        return lateAnswers.get();
    }
}
