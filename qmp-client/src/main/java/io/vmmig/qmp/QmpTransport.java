package io.vmmig.qmp;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/**
 * The byte pipe under a QMP connection: a blocking {@link SocketChannel} (UNIX or TCP). One thread reads
 * while writers are serialized by a lock. Knows nothing of QMP.
 *
 * <p>Writes run on a writer thread of the transport's own, never on the caller's: a blocking channel is closed for
 * everyone when a thread in one of its operations is interrupted (NIO's {@code ClosedByInterruptException}), and
 * callers are interrupted (an executor's {@code shutdownNow} stopping a poller that was sending
 * {@code query-migrate} took the source QEMU's monitor connection down with it).
 */
final class QmpTransport implements AutoCloseable {
    private final SocketChannel channel;
    private final Object writeLock = new Object();
    private final java.util.concurrent.ExecutorService writer = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "vmmig-qmp-writer");
        t.setDaemon(true);
        return t;
    });

    private QmpTransport(SocketChannel channel) {
        this.channel = channel;
    }

    static QmpTransport open(QmpEndpoint endpoint, Duration connectTimeout) throws IOException {
        SocketChannel ch;
        if (endpoint instanceof QmpEndpoint.Unix) {
            ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                ch.connect(endpoint.address());
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        } else {
            ch = SocketChannel.open();
            try {
                ch.socket().connect(endpoint.address(), (int) Math.max(1, connectTimeout.toMillis()));
                ch.socket().setTcpNoDelay(true);
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        }
        return new QmpTransport(ch);
    }

    /** Reads some bytes; returns -1 at end of stream. */
    int read(ByteBuffer into) throws IOException {
        return channel.read(into);
    }

    /** Writes all bytes as one unit (no interleaving with other writers). */
    void write(byte[] bytes) throws IOException {
        java.util.concurrent.Future<Void> written;
        try {
            written = writer.submit(() -> {
                synchronized (writeLock) {
                    ByteBuffer buf = ByteBuffer.wrap(bytes);
                    while (buf.hasRemaining()) {
                        channel.write(buf);
                    }
                }
                return null;
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new java.nio.channels.ClosedChannelException();
        }
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    written.get();
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;   // the write goes on (it is short); the caller hears of its interrupt after it
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof IOException io) throw io;
                    throw new IOException(e.getCause());
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        writer.shutdown();
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to do with a socket that fails to close
        }
    }
}
