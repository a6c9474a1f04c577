package io.vmmig.nbd.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The writer side of one connection. Any thread may {@link #send} a finished reply; whichever thread
 * finds nobody writing becomes the writer and drains the queue, batching several replies into one
 * gathering write. So replies go out in completion order, at most one thread per connection ever
 * blocks on the socket, and the others return at once.
 */
final class ReplyQueue {
    private static final int MAX_BUFFERS_PER_WRITE = 512;

    private record Entry(ReplyMessage message, Runnable afterWrite) {}

    private final ConnectionChannel channel;
    private final ConcurrentLinkedQueue<Entry> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean writing = new AtomicBoolean();
    private final ErrorHandler onError;

    /** Told once when a write fails; the queue then discards further replies (running their callbacks). */
    interface ErrorHandler {
        void writeFailed(IOException e);
    }

    ReplyQueue(ConnectionChannel channel, ErrorHandler onError) {
        this.channel = channel;
        this.onError = onError;
    }

    /** Queues a reply; {@code afterWrite} runs once it has been written (or dropped after a failure). */
    void send(ReplyMessage message, Runnable afterWrite) {
        queue.add(new Entry(message, afterWrite));
        drain();
    }

    private void drain() {
        while (!queue.isEmpty() && writing.compareAndSet(false, true)) {
            try {
                List<Entry> batch = new ArrayList<>();
                List<ByteBuffer> buffers = new ArrayList<>();
                Entry e;
                while ((e = queue.peek()) != null) {
                    int n = e.message().buffers().length;
                    if (!batch.isEmpty() && buffers.size() + n > MAX_BUFFERS_PER_WRITE) break;
                    queue.poll();
                    batch.add(e);
                    buffers.addAll(List.of(e.message().buffers()));
                    if (buffers.size() >= MAX_BUFFERS_PER_WRITE) break;
                }
                try {
                    if (channel.isOpen()) channel.write(buffers.toArray(ByteBuffer[]::new));
                } catch (IOException ex) {
                    channel.close();
                    onError.writeFailed(ex);
                } finally {
                    for (Entry done : batch) done.afterWrite().run();
                }
            } finally {
                writing.set(false);
            }
        }
    }
}
