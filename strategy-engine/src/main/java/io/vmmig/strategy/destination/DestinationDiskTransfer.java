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
 */
public final class DestinationDiskTransfer implements PeerChannel.Handler, AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DestinationDiskTransfer.class);
    private final PeerChannel channel;
    private final BlockBackend store;
    private final RemoteSource source;
    private final DestinationDisk disk;
    private final ChunkPuller puller;
    private final CompletableFuture<Void> complete = new CompletableFuture<>();
    private final AtomicLong pushedBytes = new AtomicLong();
    private final java.util.Set<CompletableFuture<Void>> pushesInStore = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile boolean cancelled;

    public DestinationDiskTransfer(ChunkGeometry geometry, BlockBackend store, PeerChannel channel, int pullers) {
        this(geometry, store, channel, pullers, Duration.ZERO);
    }

    /** @param backgroundPullDelay how long after the hand-over the background pull begins (demands are served at once) */
    public DestinationDiskTransfer(ChunkGeometry geometry, BlockBackend store, PeerChannel channel, int pullers,
                                   Duration backgroundPullDelay) {
        this.channel = channel;
        this.store = store;
        this.source = new RemoteSource(channel);
        this.disk = new DestinationDisk(geometry, store, source);
        this.puller = new ChunkPuller(geometry, disk.handover(), source, store);
        disk.onDemand(puller::demanded);
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
                try {
                    channel.send(new Frame.Done());
                } catch (PeerChannelClosedException ce) {
                    LOG.warn("disk complete, but telling the source failed: {}", ce.getMessage());
                }
            });
        });
    }

    public void start() {
        channel.start(this);
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

    public long pulledBytes() {
        return puller.bytesPulled();
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
        } else if (frame instanceof Frame.Remaining r) {
            // Pushes precede REMAINING on the channel; let their store writes land before the pull
            // can install newer bytes of the same chunks.
            CompletableFuture.allOf(pushesInStore.toArray(CompletableFuture[]::new))
                    .whenComplete((v, e) -> disk.handOver(r.set()));
        } else if (frame instanceof Frame.Cancel c) {
            cancelled = true;
            fail(new IllegalStateException("source cancelled the migration: " + c.reason()));
        } else if (frame instanceof Frame.Error e) {
            fail(new IllegalStateException("source " + ch.remote() + " failed: " + e.message()));
        } else if (!(frame instanceof Frame.Unknown)) {
            throw new PeerProtocolException("unexpected " + frame.type() + " frame at the destination");
        }
    }

    @Override
    public void onClosed(PeerChannel ch, Throwable cause) {
        if (!complete.isDone()) fail(cause != null ? cause : new PeerChannelClosedException("source closed the channel", null));
    }

    private void fail(Throwable cause) {
        source.failAll(cause);
        complete.completeExceptionally(cause);
    }

    @Override
    public void close() {
        puller.close();
        channel.close();
    }
}
