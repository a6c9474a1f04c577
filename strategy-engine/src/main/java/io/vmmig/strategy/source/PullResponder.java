package io.vmmig.strategy.source;

import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.peer.PeerChannelClosedException;
import java.nio.ByteBuffer;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The source answering the destination's pulls after cutover: on-demand requests before background
 * ones (FIFO within each), read from the source disk and sent back as CHUNK_DATA. When the channel
 * breaks, answers are dropped (the destination asks again); {@link #attach} of the destination's new
 * connection drops the requests of the old one still queued (they come again on the new one) and
 * answers there.
 */
public final class PullResponder implements AutoCloseable {
    private record Request(Frame.Pull pull, long seq) implements Comparable<Request> {
        @Override
        public int compareTo(Request o) {
            int p = Integer.compare(o.pull.priority().ordinal(), pull.priority().ordinal());
            return p != 0 ? p : Long.compare(seq, o.seq);
        }
    }

    private final BlockBackend disk;
    private volatile PeerChannel channel;
    private final ChunkSender sender;
    private final PriorityBlockingQueue<Request> requests = new PriorityBlockingQueue<>();
    private final AtomicLong seq = new AtomicLong();
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicLong wireBytesSent = new AtomicLong();
    private final Thread[] workers;
    private volatile boolean closed;

    public PullResponder(BlockBackend disk, PeerChannel channel, boolean compress, int workers) {
        this(disk, channel, new ChunkSender(compress ? io.vmmig.strategy.peer.ChunkCompression.DEFLATE
                : io.vmmig.strategy.peer.ChunkCompression.OFF), workers);
    }

    /** Answers with {@code sender} (shared with the push: one compression decision, one count). */
    public PullResponder(BlockBackend disk, PeerChannel channel, ChunkSender sender, int workers) {
        this.disk = disk;
        this.channel = channel;
        this.sender = sender;
        this.workers = new Thread[workers];
        for (int i = 0; i < workers; i++) {
            Thread t = new Thread(this::serve, "vmmig-pull-responder-" + i);
            t.setDaemon(true);
            this.workers[i] = t;
            t.start();
        }
    }

    /** The destination resumed on {@code next}: what was asked on the old channel is forgotten, it is asked again. */
    public void attach(PeerChannel next) {
        requests.clear();
        channel = next;
    }

    public void onPull(Frame.Pull pull) {
        if (pull.offset() + pull.length() > disk.size() || pull.length() > SourceOptions.MAX_PULL)
            throw new io.vmmig.strategy.peer.PeerProtocolException("pull " + pull.offset() + "+" + pull.length()
                    + " outside the disk of " + disk.size() + " bytes or over " + SourceOptions.MAX_PULL);
        requests.add(new Request(pull, seq.incrementAndGet()));
    }

    public long bytesSent() {
        return bytesSent.get();
    }

    /** Payload bytes those answers took on the wire (after zero elision and compression). */
    public long wireBytesSent() {
        return wireBytesSent.get();
    }

    public ChunkSender sender() {
        return sender;
    }

    private void serve() {
        try {
            while (!closed) {
                Frame.Pull p = requests.take().pull();
                PeerChannel ch = channel;
                ByteBuffer buf = ByteBuffer.allocate(p.length());
                try {
                    try {
                        disk.read(p.offset(), buf).join();
                    } catch (RuntimeException e) {
                        ch.send(new Frame.Error(Frame.Error.IO, "reading " + p.offset() + "+" + p.length()
                                + " at the source failed: " + e.getMessage()));
                        continue;
                    }
                    Frame.ChunkData sent = sender.send(ch, p.requestId(), p.offset(), buf.flip());
                    bytesSent.addAndGet(p.length());
                    wireBytesSent.addAndGet(sent.payload().remaining());
                } catch (PeerChannelClosedException e) {
                    // the link broke: the destination asks again on its next connection
                }
            }
        } catch (InterruptedException e) {
            // closed
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : workers) t.interrupt();
    }
}
