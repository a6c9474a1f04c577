package io.vmmig.strategy.peer;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@link PeerChannel} over a blocking {@link SocketChannel}, TCP or UNIX: one reader thread feeding
 * a {@link FrameDecoder}, writes serialized under a lock. No TLS: the agent wraps its own transport.
 */
public final class SocketPeerChannel implements PeerChannel {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(SocketPeerChannel.class);
    /** Frames up to a 32 MiB chunk plus headers. */
    public static final int MAX_FRAME = 32 * 1024 * 1024 + 4096;

    private final SocketChannel socket;
    private final String remote;
    private final FrameEncoder encoder = new FrameEncoder();
    private final Object writeLock = new Object();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean closing;
    private volatile Thread reader;
    private volatile int handOverLimit = FrameDecoder.MAX_CHUNKS;
    /** How long {@link #close()} waits for the peer to close its side after ours. */
    static final java.time.Duration LINGER = java.time.Duration.ofSeconds(1);

    public SocketPeerChannel(SocketChannel socket) throws IOException {
        this.socket = socket;
        socket.configureBlocking(true);
        if (socket.getRemoteAddress() instanceof InetSocketAddress) {
            socket.setOption(StandardSocketOptions.TCP_NODELAY, true);
        }
        SocketAddress r = socket.getRemoteAddress();
        this.remote = r == null ? "unix-peer" : r.toString();
    }

    public static SocketPeerChannel connect(SocketAddress address) throws IOException {
        SocketChannel ch = SocketChannel.open(address);
        return new SocketPeerChannel(ch);
    }

    @Override
    public void limitHandOver(int maxChunks) {
        handOverLimit = maxChunks;
    }

    @Override
    public void start(Handler handler) {
        if (!started.compareAndSet(false, true)) throw new IllegalStateException("channel already started");
        Thread t = new Thread(() -> readLoop(handler), "vmmig-peer-" + remote);
        reader = t;
        t.setDaemon(true);
        t.start();
    }

    private void readLoop(Handler handler) {
        FrameDecoder decoder = new FrameDecoder(MAX_FRAME, f -> handler.onFrame(this, f));
        decoder.limitHandOver(handOverLimit);
        ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
        Throwable cause = null;
        try {
            while (true) {
                buf.clear();
                int n = socket.read(buf);
                if (n < 0) {
                    if (decoder.midFrame()) throw new PeerProtocolException("connection closed in the middle of a frame");
                    if (!closing) cause = new PeerChannelClosedException("peer " + remote + " closed the connection", null);
                    break;
                }
                if (decoder.handOverLimit() != handOverLimit) decoder.limitHandOver(handOverLimit);
                decoder.feed(buf.flip());
            }
        } catch (IOException e) {
            if (!closing) cause = new PeerChannelClosedException("connection to " + remote + " broke: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            LOG.warn("peer channel with {} closed on an error: {}", remote, e.toString(), e);
            cause = e;
        }
        closeSocket();
        if (cause == null) closed.complete(null);
        else closed.completeExceptionally(cause);
        handler.onClosed(this, cause);
    }

    @Override
    public void send(Frame frame) {
        ByteBuffer bytes = encoder.encode(frame);
        synchronized (writeLock) {
            try {
                while (bytes.hasRemaining()) socket.write(bytes);
            } catch (IOException e) {
                closeSocket();
                throw new PeerChannelClosedException("cannot send " + frame.type() + " to " + remote + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public CompletableFuture<Void> closed() {
        return closed;
    }

    @Override
    public String remote() {
        return remote;
    }

    @Override
    public void close() {
        closing = true;
        if (started.get() && socket.isOpen() && Thread.currentThread() != reader) {
            // Half-close first and let the reader drain until the peer closes too (bounded): closing
            // with unread bytes makes the kernel send a reset, which can destroy frames the peer has
            // not read yet (a CANCEL, a DONE).
            try {
                socket.shutdownOutput();
                closed.get(LINGER.toMillis(), TimeUnit.MILLISECONDS);
            } catch (IOException | ExecutionException | TimeoutException e) {
                // closing anyway
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeSocket();
        if (!started.get()) closed.complete(null);
    }

    private void closeSocket() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}
