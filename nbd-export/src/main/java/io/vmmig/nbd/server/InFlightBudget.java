package io.vmmig.nbd.server;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Bounds the payload bytes of requests being executed on one connection. The reader blocks in
 * {@link #acquire} while over budget, so it stops reading the socket (backpressure). A request larger
 * than the whole budget still runs when nothing else is in flight.
 */
final class InFlightBudget {
    private final long limit;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private long bytes;
    private int requests;
    private boolean closed;

    InFlightBudget(long limit) {
        this.limit = limit;
    }

    /** @return false if the budget was closed while waiting */
    boolean acquire(long cost) throws InterruptedException {
        lock.lock();
        try {
            while (!closed && requests > 0 && bytes + cost > limit) changed.await();
            if (closed) return false;
            bytes += cost;
            requests++;
            return true;
        } finally {
            lock.unlock();
        }
    }

    void release(long cost) {
        lock.lock();
        try {
            bytes -= cost;
            requests--;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits until no request is in flight. @return false on timeout */
    boolean awaitIdle(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        lock.lock();
        try {
            while (requests > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                changed.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Wakes and refuses waiting acquirers. */
    void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    long bytesInFlight() {
        lock.lock();
        try {
            return bytes;
        } finally {
            lock.unlock();
        }
    }
}
