package io.vmmig.testkit.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One direction of a proxied connection: a reader thread moves bytes from {@code from} into a
 * {@link DelayLine}, a writer thread moves them to {@code to} once due; the end of the stream is delayed
 * too and becomes a half-close ({@code shutdownOutput}). Any I/O error calls {@link Listener#failed}.
 */
final class DelayedPipe {
    private static final int READ_SIZE = 64 * 1024;

    /** Told when this direction finished (end of stream written) or failed. */
    interface Listener {
        void finished(DelayedPipe pipe);

        void failed(DelayedPipe pipe, IOException error);
    }

    private final SocketChannel from;
    private final SocketChannel to;
    private final DelayLine line;
    private final String name;
    private final Listener listener;
    private final AtomicLong forwarded;

    DelayedPipe(SocketChannel from, SocketChannel to, DelayLine line, String name, Listener listener,
            AtomicLong forwarded) {
        this.from = from;
        this.to = to;
        this.line = line;
        this.name = name;
        this.listener = listener;
        this.forwarded = forwarded;
    }

    void start() {
        daemon(this::readLoop, name + "-read").start();
        daemon(this::writeLoop, name + "-write").start();
    }

    void abort() {
        line.abort();
    }

    String name() {
        return name;
    }

    private void readLoop() {
        try {
            while (true) {
                ByteBuffer buf = ByteBuffer.allocate(READ_SIZE);
                int n = from.read(buf);
                if (n < 0) {
                    line.putEnd();
                    return;
                }
                buf.flip();
                if (n < READ_SIZE / 4) {  // don't hold 64 KiB for a few bytes: the bound counts bytes
                    buf = ByteBuffer.allocate(n).put(buf).flip();
                }
                if (!line.put(buf)) {
                    return;
                }
            }
        } catch (IOException e) {
            listener.failed(this, e);
        } catch (InterruptedException e) {
            listener.failed(this, new IOException(name + " interrupted", e));
        }
    }

    private void writeLoop() {
        try {
            while (true) {
                DelayLine.Chunk c = line.take();
                if (c == null) {
                    return;
                }
                if (c.isEnd()) {
                    to.shutdownOutput();
                    listener.finished(this);
                    return;
                }
                ByteBuffer data = c.data();
                forwarded.addAndGet(data.remaining());  // before the write: whoever saw the bytes finds them counted
                while (data.hasRemaining()) {
                    to.write(data);
                }
            }
        } catch (IOException e) {
            listener.failed(this, e);
        } catch (InterruptedException e) {
            listener.failed(this, new IOException(name + " interrupted", e));
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
