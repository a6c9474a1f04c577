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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The source seen from the destination: PULL frames out, CHUNK_DATA answers matched by request id.
 * The session that owns the channel hands every answer to {@link #onChunkData} and a broken channel
 * to {@link #failAll}, which fails every pending read.
 */
public final class RemoteSource implements ChunkSource {
    private record Pending(ByteBuffer dst, CompletableFuture<Void> done) {}

    private final PeerChannel channel;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong bytesReceived = new AtomicLong();
    private volatile Throwable failure;

    public RemoteSource(PeerChannel channel) {
        this.channel = channel;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst, Priority priority) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (failure != null) return CompletableFuture.failedFuture(failure);
        long id = ids.incrementAndGet();
        pending.put(id, new Pending(dst, done));
        try {
            channel.send(new Frame.Pull(id, offset, dst.remaining(), priority));
        } catch (PeerChannelClosedException e) {
            pending.remove(id);
            done.completeExceptionally(e);
        }
        if (failure != null && pending.remove(id) != null) done.completeExceptionally(failure);
        return done;
    }

    /** An answer to a PULL arrived. */
    public void onChunkData(Frame.ChunkData data) {
        Pending p = pending.remove(data.requestId());
        if (p == null) throw new PeerProtocolException("answer to unknown pull request " + data.requestId());
        try {
            ChunkPayloads.decodeInto(data, p.dst());
        } catch (PeerProtocolException e) {
            p.done().completeExceptionally(e);
            throw e;
        }
        bytesReceived.addAndGet(data.length());
        p.done().complete(null);
    }

    /** The source answered a PULL with an error, or the channel broke: every pending read fails. */
    public void failAll(Throwable cause) {
        failure = cause;
        List<Pending> all = new ArrayList<>(pending.values());
        pending.clear();
        all.forEach(p -> p.done().completeExceptionally(cause));
    }

    public int pendingCount() {
        return pending.size();
    }

    public long bytesReceived() {
        return bytesReceived.get();
    }
}
