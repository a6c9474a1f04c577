package io.vmmig.testkit.net;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A FIFO of byte chunks, each released {@code delay} after it was put: one direction of a
 * {@link DelayProxy}. Bounded: {@link #put} blocks while {@code capacity} bytes are queued (a chunk is
 * accepted into an empty line whatever its size), so a slow reader pushes back on the writer through TCP
 * flow control. The capacity must cover rate x delay, or the line itself limits throughput.
 */
final class DelayLine {
    private final long delayNanos;
    private final long capacityBytes;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Chunk> queue = new ArrayDeque<>();
    private long queuedBytes;
    private boolean aborted;

    /** A chunk and the {@link System#nanoTime()} at which it may leave. */
    record Chunk(ByteBuffer data, long dueNanos) {
        boolean isEnd() {
            return data == null;
        }
    }

    DelayLine(long delayNanos, long capacityBytes) {
        if (delayNanos < 0) {
            throw new IllegalArgumentException("delay must not be negative: " + delayNanos + " ns");
        }
        if (capacityBytes < 1) {
            throw new IllegalArgumentException("capacity must be positive: " + capacityBytes);
        }
        this.delayNanos = delayNanos;
        this.capacityBytes = capacityBytes;
    }

    /** Queues {@code data} (its remaining bytes; the buffer is kept, not copied); false if aborted. */
    boolean put(ByteBuffer data) throws InterruptedException {
        return enqueue(data, data.remaining());
    }

    /** Queues the end of the stream, delayed like data. */
    boolean putEnd() throws InterruptedException {
        return enqueue(null, 0);
    }

    private boolean enqueue(ByteBuffer data, int size) throws InterruptedException {
        lock.lockInterruptibly();
        try {
            while (!aborted && queuedBytes > 0 && queuedBytes + size > capacityBytes) {
                changed.await();
            }
            if (aborted) {
                return false;
            }
            queue.addLast(new Chunk(data, System.nanoTime() + delayNanos));
            queuedBytes += size;
            changed.signalAll();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The next chunk once it is due (blocks); {@code null} if aborted. An end chunk has no data. */
    Chunk take() throws InterruptedException {
        lock.lockInterruptibly();
        try {
            while (true) {
                if (aborted) {
                    return null;
                }
                Chunk head = queue.peekFirst();
                if (head == null) {
                    changed.await();
                    continue;
                }
                long wait = head.dueNanos() - System.nanoTime();
                if (wait > 0) {
                    changed.awaitNanos(wait);
                    continue;
                }
                queue.removeFirst();
                queuedBytes -= head.isEnd() ? 0 : head.data().remaining();
                changed.signalAll();
                return head;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Wakes everyone: {@link #put} returns false and {@link #take} null from now on. */
    void abort() {
        lock.lock();
        try {
            aborted = true;
            queue.clear();
            queuedBytes = 0;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    long queuedBytes() {
        lock.lock();
        try {
            return queuedBytes;
        } finally {
            lock.unlock();
        }
    }

    long delay(TimeUnit unit) {
        return unit.convert(delayNanos, TimeUnit.NANOSECONDS);
    }
}
