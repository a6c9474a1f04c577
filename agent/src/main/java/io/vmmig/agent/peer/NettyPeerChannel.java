package io.vmmig.agent.peer;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.peer.PeerChannelClosedException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link PeerChannel} over a Netty {@link Channel} whose pipeline decodes and encodes {@link Frame}s.
 * <ul>
 * <li>{@link #send} blocks while the channel is not writable (Netty's write-buffer water marks, frames
 *     counted by their size) and throws {@link PeerChannelClosedException} once the channel is closed;</li>
 * <li>received frames are delivered in order on one delivery thread of this channel (never the I/O
 *     thread, so a handler may block or send); while more than the read high-water mark of frame bytes
 *     waits for the handler, the channel stops reading, which pushes back on the sender;</li>
 * <li>{@link #closed} completes normally after {@link #close}, else with what broke the connection.</li>
 * </ul>
 */
public final class NettyPeerChannel implements PeerChannel {
    private static final Logger log = LoggerFactory.getLogger(NettyPeerChannel.class);

    private final Channel channel;
    private final String remote;
    private final long readHigh;
    private final long readLow;
    private final ThreadPoolExecutor delivery;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final Object writeLock = new Object();
    private final AtomicLong outboundBytes = new AtomicLong();
    private final AtomicLong peakOutboundBytes = new AtomicLong();
    private final AtomicLong blockedSends = new AtomicLong();
    private final CompletableFuture<Void> firstBlockedSend = new CompletableFuture<>();
    private volatile CompletableFuture<Void> nextBlockedSend = new CompletableFuture<>();
    private final CompletableFuture<Void> firstReadPause = new CompletableFuture<>();

    private final Object lock = new Object();
    // guarded by lock
    private Handler handler;
    private final ArrayDeque<Frame> early = new ArrayDeque<>();
    private boolean admitted;
    private boolean started;
    private boolean readPaused;
    private boolean inactive;
    private Throwable cause;
    private long inboundBytes;
    private long peakInboundBytes;

    private volatile boolean closing;

    NettyPeerChannel(Channel channel, String remote, PeerTransportOptions options) {
        this.channel = channel;
        this.remote = remote;
        this.readHigh = options.readHighWaterMark();
        this.readLow = Math.max(1, options.readHighWaterMark() / 4);
        this.delivery = new ThreadPoolExecutor(0, 1, 5, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "vmmig-peer-" + remote);
            t.setDaemon(true);
            return t;
        });
    }

    /** The last handler of the pipeline: frames in, writability and the end of the connection. */
    ChannelHandler inboundHandler() {
        return new ChannelInboundHandlerAdapter() {
            @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
                received((Frame) msg);
            }

            @Override public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                synchronized (writeLock) {
                    writeLock.notifyAll();
                }
                ctx.fireChannelWritabilityChanged();
            }

            @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
                fail(t);
            }

            @Override public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess()) fail(e.cause());
            }

            @Override public void channelInactive(ChannelHandlerContext ctx) {
                ended();
            }
        };
    }

    @Override
    public void start(Handler h) {
        synchronized (lock) {
            if (handler != null) throw new IllegalStateException("channel to " + remote + " already started");
            handler = h;
            started = true;
            while (!early.isEmpty()) {
                Frame f = early.poll();
                delivery.execute(() -> deliver(f));
            }
            if (inactive) deliverClosed();
            updateAutoRead();
        }
    }

    @Override
    public void send(Frame frame) throws PeerChannelClosedException {
        if (channel.eventLoop().inEventLoop()) { // never block the I/O thread: write without waiting
            checkOpen(frame);
            countAndWrite(frame);
            return;
        }
        synchronized (writeLock) {
            while (true) {
                checkOpen(frame);
                if (channel.isWritable()) break;
                blockedSends.incrementAndGet();
                firstBlockedSend.complete(null);
                nextBlockedSend.complete(null);
                try {
                    writeLock.wait(1000); // woken by writability changes and by the end of the channel
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new PeerChannelClosedException("interrupted while sending " + frame.type() + " to " + remote, e);
                }
            }
            countAndWrite(frame);
        }
    }

    /** Sends only if the channel is open and writable now; never waits. */
    @Override
    public boolean offer(Frame frame) {
        if (closing || !channel.isActive() || !channel.isWritable()) return false;
        countAndWrite(frame);
        return true;
    }

    private void checkOpen(Frame frame) {
        if (closing || !channel.isActive()) {
            Throwable c;
            synchronized (lock) {
                c = cause;
            }
            throw new PeerChannelClosedException("cannot send " + frame.type() + " to " + remote + ": channel closed"
                    + (c == null ? "" : " (" + c.getMessage() + ")"), c);
        }
    }

    private void countAndWrite(Frame frame) {
        int size = FrameSizeEstimator.size(frame);
        long now = outboundBytes.addAndGet(size);
        peakOutboundBytes.accumulateAndGet(now, Math::max);
        channel.writeAndFlush(frame).addListener(f -> outboundBytes.addAndGet(-size));
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
        channel.close();
        synchronized (writeLock) {
            writeLock.notifyAll();
        }
    }

    /** Frame bytes handed to {@link #send} and not yet written to the network. */
    public long outboundBytes() {
        return outboundBytes.get();
    }

    /** The most {@link #outboundBytes} ever was: bounded by the write high-water mark plus one frame. */
    public long peakOutboundBytes() {
        return peakOutboundBytes.get();
    }

    /** How many times a {@link #send} had to wait for the channel to drain. */
    public long blockedSends() {
        return blockedSends.get();
    }

    /** Completes the first time a {@link #send} waits for the channel to drain. */
    CompletableFuture<Void> firstBlockedSend() {
        return firstBlockedSend;
    }

    /** Completes when a {@link #send} waits after this call. */
    CompletableFuture<Void> nextBlockedSend() {
        nextBlockedSend = new CompletableFuture<>();
        return nextBlockedSend;
    }

    /** Completes the first time reading stops because the handler is behind. */
    CompletableFuture<Void> firstReadPause() {
        return firstReadPause;
    }

    /** The most received frame bytes ever waiting for the handler. */
    public long peakInboundBytes() {
        synchronized (lock) {
            return peakInboundBytes;
        }
    }

    @Override
    public void limitHandOver(int maxChunks) {
        FrameByteDecoder d = channel.pipeline().get(FrameByteDecoder.class);
        if (d != null) d.limitHandOver(Math.max(0, Math.min(maxChunks, io.vmmig.strategy.peer.FrameDecoder.MAX_CHUNKS)));
    }

    /**
     * The HELLO/WELCOME exchange is over: frames up to the big cap are accepted, and from now on
     * reading follows {@link #start} and the handler's pace.
     */
    void admitted() {
        FrameByteDecoder d = channel.pipeline().get(FrameByteDecoder.class);
        if (d != null) d.authorised();
        synchronized (lock) {
            admitted = true;
            updateAutoRead();
        }
    }

    /** Runs {@code task} on the delivery thread, before any frame delivered after this call. */
    void onDeliveryThread(Runnable task) {
        delivery.execute(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.error("peer channel {}: callback failed", remote, e);
                fail(e);
            }
        });
    }

    /** Closes the channel because of {@code t} (the first cause recorded wins). */
    void fail(Throwable t) {
        synchronized (lock) {
            if (cause == null && !closing) cause = ConnectionFailure.explain(t, remote);
        }
        channel.close();
    }

    private void received(Frame frame) {
        int size = FrameSizeEstimator.size(frame);
        synchronized (lock) {
            inboundBytes += size;
            peakInboundBytes = Math.max(peakInboundBytes, inboundBytes);
            if (inboundBytes >= readHigh && !readPaused) {
                readPaused = true;
                updateAutoRead();
                firstReadPause.complete(null);
            }
            if (started) delivery.execute(() -> deliver(frame));
            else early.add(frame);
        }
    }

    private void deliver(Frame frame) {
        try {
            handler.onFrame(this, frame);
        } catch (RuntimeException e) {
            log.error("peer channel {}: handler failed on {}", remote, frame.type(), e);
            fail(e);
        } finally {
            synchronized (lock) {
                inboundBytes -= FrameSizeEstimator.size(frame);
                if (readPaused && inboundBytes <= readLow) {
                    readPaused = false;
                    updateAutoRead();
                }
            }
        }
    }

    private void updateAutoRead() {
        boolean read = !admitted || (started && !readPaused);
        if (channel.config().isAutoRead() != read) channel.config().setAutoRead(read);
    }

    private void ended() {
        Throwable c;
        synchronized (lock) {
            inactive = true;
            if (cause == null && !closing) cause = new PeerChannelClosedException("peer " + remote + " closed the connection", null);
            c = closing && cause == null ? null : cause;
            if (started) deliverClosed();
        }
        synchronized (writeLock) {
            writeLock.notifyAll();
        }
        if (c == null) closed.complete(null);
        else closed.completeExceptionally(c);
    }

    /** Called under lock once both started and inactive. */
    private void deliverClosed() {
        Throwable c = closing && cause == null ? null : cause;
        Handler h = handler;
        delivery.execute(() -> {
            try {
                h.onClosed(this, c);
            } finally {
                delivery.shutdown();
            }
        });
    }

    @Override
    public String toString() {
        return "NettyPeerChannel[" + remote + "]";
    }

    /** The subject of the certificate the other agent presented ({@code CN=host-b}), or null without TLS. */
    public String peerSubject() {
        io.netty.handler.ssl.SslHandler ssl = channel.pipeline().get(io.netty.handler.ssl.SslHandler.class);
        if (ssl == null) return null;
        try {
            java.security.cert.Certificate[] chain = ssl.engine().getSession().getPeerCertificates();
            return ((java.security.cert.X509Certificate) chain[0]).getSubjectX500Principal().getName();
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
            return null;
        }
    }
}
