package io.vmmig.nbd.server;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The blocking socket of one connection: exact reads for the handshake, and whole-message writes
 * under a lock so replies finished on different threads never interleave.
 */
final class ConnectionChannel implements AutoCloseable {
    private final SocketChannel channel;
    private final ReentrantLock writeLock = new ReentrantLock();

    ConnectionChannel(SocketChannel channel) {
        this.channel = channel;
    }

    /** Reads exactly {@code n} bytes; EOF before that is an {@link EOFException}. */
    ByteBuffer readExactly(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) throw new EOFException("peer closed the connection after " + b.position() + " of " + n + " bytes");
        }
        return b.flip();
    }

    /** Reads what is available (blocking for at least one byte); -1 at end of stream. */
    int read(ByteBuffer dst) throws IOException {
        return channel.read(dst);
    }

    /** Writes all buffers as one message, atomically with respect to other writers. */
    void write(ByteBuffer... buffers) throws IOException {
        writeLock.lock();
        try {
            long left = 0;
            for (ByteBuffer b : buffers) left += b.remaining();
            while (left > 0) left -= channel.write(buffers);
        } finally {
            writeLock.unlock();
        }
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing: nothing left to tell the peer
        }
    }
}
