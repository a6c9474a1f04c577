package io.vmmig.nbd.server;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Recycles direct buffers for READ data and WRITE payloads, so data is copied once between the
 * file and the socket (heap buffers would go through the JDK's temporary direct buffers).
 * Buffers come in power-of-two size classes; at most {@code maxRetained} bytes are kept idle.
 */
final class BufferPool {
    private static final int MIN_SHIFT = 12;

    private final List<ConcurrentLinkedDeque<ByteBuffer>> classes;
    private final long maxRetained;
    private final AtomicLong retained = new AtomicLong();

    BufferPool(int maxBuffer, long maxRetained) {
        int shifts = 32 - Integer.numberOfLeadingZeros(Math.max(maxBuffer, 1 << MIN_SHIFT) - 1) - MIN_SHIFT + 1;
        List<ConcurrentLinkedDeque<ByteBuffer>> c = new ArrayList<>(shifts);
        for (int i = 0; i < shifts; i++) c.add(new ConcurrentLinkedDeque<>());
        classes = List.copyOf(c);
        this.maxRetained = maxRetained;
    }

    /** @return a buffer with position 0 and limit {@code length} (contents undefined) */
    ByteBuffer acquire(int length) {
        int cls = sizeClass(length);
        if (cls >= classes.size()) return ByteBuffer.allocateDirect(length);
        ByteBuffer b = classes.get(cls).pollFirst();
        if (b == null) {
            b = ByteBuffer.allocateDirect(1 << (cls + MIN_SHIFT));
        } else {
            retained.addAndGet(-b.capacity());
        }
        return b.clear().limit(length);
    }

    /** Returns a buffer obtained from {@link #acquire}; it must not be used afterwards. */
    void release(ByteBuffer b) {
        if (b == null || !b.isDirect() || Integer.bitCount(b.capacity()) != 1) return;
        int cls = sizeClass(b.capacity());
        if (cls >= classes.size() || retained.addAndGet(b.capacity()) > maxRetained) {
            if (cls < classes.size()) retained.addAndGet(-b.capacity());
            return;
        }
        classes.get(cls).offerFirst(b);
    }

    private static int sizeClass(int length) {
        int bits = 32 - Integer.numberOfLeadingZeros(Math.max(length, 1 << MIN_SHIFT) - 1);
        return bits - MIN_SHIFT;
    }
}
