package io.vmmig.agent.peer;

import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A handler that keeps what it receives, and on which threads. */
class FrameCollector implements PeerChannel.Handler {
    final LinkedBlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    final Set<String> threads = ConcurrentHashMap.newKeySet();
    final CompletableFuture<Throwable> closed = new CompletableFuture<>();

    @Override
    public void onFrame(PeerChannel channel, Frame frame) {
        threads.add(Thread.currentThread().getName());
        frames.add(frame);
    }

    @Override
    public void onClosed(PeerChannel channel, Throwable cause) {
        closed.complete(cause);
    }

    Frame next() throws InterruptedException {
        Frame f = frames.poll(20, TimeUnit.SECONDS);
        if (f == null) throw new AssertionError("no frame within 20 s");
        return f;
    }
}
