package io.vmmig.qmp;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/**
 * The byte pipe under a QMP connection: a blocking {@link SocketChannel} (UNIX or TCP). One thread reads
 * while writers are serialized by a lock. Knows nothing of QMP.
 */
final class QmpTransport implements AutoCloseable {
    private final SocketChannel channel;
    private final Object writeLock = new Object();

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
        synchronized (writeLock) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to do with a socket that fails to close
        }
    }
}
