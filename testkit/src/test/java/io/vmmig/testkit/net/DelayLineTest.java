package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DelayLineTest {

    private static ByteBuffer bytes(int n, int value) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) value);
        return ByteBuffer.wrap(b);
    }

    @Test
    void releasesInOrderNotBeforeTheDelay() throws Exception {
        DelayLine line = new DelayLine(TimeUnit.MILLISECONDS.toNanos(30), 1 << 20);
        long t0 = System.nanoTime();
        for (int i = 0; i < 100; i++) {
            line.put(bytes(10, i));
        }
        line.putEnd();
        for (int i = 0; i < 100; i++) {
            DelayLine.Chunk c = line.take();
            assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(30), "released early");
            assertEquals((byte) i, c.data().get(0), "FIFO order at " + i);
        }
        assertTrue(line.take().isEnd());
        assertEquals(0, line.queuedBytes());
    }

    @Test
    void putBlocksAtCapacityUntilTaken() throws Exception {
        DelayLine line = new DelayLine(0, 100);
        line.put(bytes(60, 1));
        CompletableFuture<Boolean> second = CompletableFuture.supplyAsync(() -> {
            try {
                return line.put(bytes(60, 2));
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertFalse(completesWithin(second, 200), "put over capacity must wait");
        assertEquals(1, line.take().data().get(0));
        assertTrue(second.get(5, TimeUnit.SECONDS));
        assertEquals(60, line.queuedBytes());
    }

    @Test
    void oversizedChunkEntersAnEmptyLine() throws Exception {
        DelayLine line = new DelayLine(0, 10);
        assertTrue(line.put(bytes(1000, 3)));
        assertEquals(1000, line.take().data().remaining());
    }

    @Test
    void abortWakesTakers() throws Exception {
        DelayLine line = new DelayLine(TimeUnit.SECONDS.toNanos(60), 100);
        line.put(bytes(10, 1));
        CompletableFuture<DelayLine.Chunk> taken = CompletableFuture.supplyAsync(() -> {
            try {
                return line.take();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertFalse(completesWithin(taken, 100), "not due for 60 s");
        line.abort();
        assertNull(taken.get(5, TimeUnit.SECONDS));
        assertFalse(line.put(bytes(1, 1)));
    }

    private static boolean completesWithin(CompletableFuture<?> f, long millis) throws Exception {
        try {
            f.get(millis, TimeUnit.MILLISECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        }
    }
}
