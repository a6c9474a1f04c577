package io.vmmig.nbd.server;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BufferPoolTest {
    @Test
    void buffersAreReusedWithinTheirSizeClass() {
        BufferPool pool = new BufferPool(1 << 20, 1 << 20);
        ByteBuffer a = pool.acquire(5000);
        assertTrue(a.isDirect());
        assertEquals(8192, a.capacity());
        assertEquals(0, a.position());
        assertEquals(5000, a.limit());
        a.position(123);
        pool.release(a);
        ByteBuffer b = pool.acquire(8000);
        assertSame(a, b);
        assertEquals(0, b.position());
        assertEquals(8000, b.limit());
        assertNotSame(b, pool.acquire(8000), "a buffer in use is never handed out twice");
    }

    @Test
    void idleBuffersBeyondTheRetentionBoundAreDropped() {
        BufferPool pool = new BufferPool(1 << 20, 64 * 1024);
        ByteBuffer a = pool.acquire(64 * 1024);
        ByteBuffer b = pool.acquire(64 * 1024);
        pool.release(a);
        pool.release(b); // over the bound: left to the GC
        assertSame(a, pool.acquire(64 * 1024));
        assertNotSame(b, pool.acquire(64 * 1024));
    }

    @Test
    void oversizedAndForeignBuffersAreNotPooled() {
        BufferPool pool = new BufferPool(1 << 16, 1 << 20);
        ByteBuffer big = pool.acquire(1 << 17);
        assertEquals(1 << 17, big.capacity());
        pool.release(big);
        pool.release(ByteBuffer.allocate(4096));
        pool.release(null);
        assertTrue(pool.acquire(4096).isDirect());
    }
}
