package io.vmmig.lab.bench;

import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.peer.PeerChannelClosedException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The destination's end of the peer channel with a stopwatch: times every on-demand PULL sent after the
 * hand-over (the source's REMAINING) from the moment the destination sends it to the arrival of the
 * CHUNK_DATA answering it. That round trip (over the shaped link, through the source agent's read) is
 * what a guest waiting for a chunk not yet at the destination waits for on top of a local read.
 * Background pulls are not counted, nor reads before the hand-over (the destination QEMU reads sector 0
 * when it creates the device, while the guest still runs at the source).
 */
final class OnDemandPullClock implements PeerChannel {
    private final PeerChannel inner;
    private final Map<Long, Long> sentAt = new ConcurrentHashMap<>();
    private final List<Long> micros = new ArrayList<>();
    private volatile boolean handedOver;

    OnDemandPullClock(PeerChannel inner) {
        this.inner = inner;
    }

    @Override
    public void start(Handler handler) {
        inner.start(new Handler() {
            @Override
            public void onFrame(PeerChannel channel, Frame frame) {
                if (frame instanceof Frame.Remaining) handedOver = true;
                if (frame instanceof Frame.ChunkData d && d.requestId() != 0) {
                    Long t = sentAt.remove(d.requestId());
                    if (t != null) {
                        long us = (System.nanoTime() - t) / 1000;
                        synchronized (micros) {
                            micros.add(us);
                        }
                    }
                }
                handler.onFrame(OnDemandPullClock.this, frame);
            }

            @Override
            public void onClosed(PeerChannel channel, Throwable cause) {
                handler.onClosed(OnDemandPullClock.this, cause);
            }
        });
    }

    @Override
    public void send(Frame frame) throws PeerChannelClosedException {
        if (handedOver && frame instanceof Frame.Pull p && p.priority() == Frame.Priority.ON_DEMAND)
            sentAt.put(p.requestId(), System.nanoTime());
        inner.send(frame);
    }

    /** The round trips measured so far, in microseconds, in the order they completed. */
    List<Long> roundTripsMicros() {
        synchronized (micros) {
            return List.copyOf(micros);
        }
    }

    @Override
    public CompletableFuture<Void> closed() {
        return inner.closed();
    }

    @Override
    public String remote() {
        return inner.remote();
    }

    @Override
    public void close() {
        inner.close();
    }
}
