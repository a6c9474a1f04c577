package io.vmmig.agent.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.peer.PeerChannelClosedException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A slow reader makes send block (bounded buffers); closing either side fails the other's blocked sends. */
class BackpressureTest extends PeerFixture {
    private static final int FRAME = 64 * 1024;
    private static final int FRAMES = 600; // 37.5 MiB: more than loopback socket buffers can absorb
    private static final PeerTransportOptions SMALL =
            PeerTransportOptions.DEFAULT.withWaterMarks(64 * 1024, 256 * 1024, 256 * 1024);

    private final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void releaseReaders() {
        release.countDown();
    }

    /** A reader that holds its first frame until released, then takes the rest as they come. */
    private final class SlowReader extends FrameCollector {
        @Override public void onFrame(PeerChannel ch, Frame f) {
            super.onFrame(ch, f);
            try {
                if (!release.await(60, TimeUnit.SECONDS)) throw new AssertionError("reader never released");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private record Pair(NettyPeerChannel client, NettyPeerChannel server) { }

    private Pair connect(PeerChannel.Handler serverHandler) throws Exception {
        PeerServer server = closing(server(SMALL).tls(serverTls("server", "ca", Set.of())).start());
        PeerConnector connector = closing(PeerConnector.tls(clientTls("source-a", "ca"), SMALL));
        byte[] token = issuer.issue("m1", SOURCE_A, Duration.ofMinutes(5));
        NettyPeerChannel client = connector.connect("localhost", server.port(), "m1", token, TIMEOUT);
        client.start(new FrameCollector());
        NettyPeerChannel accepted = (NettyPeerChannel) nextAdmitted().channel();
        accepted.start(serverHandler);
        return new Pair(client, accepted);
    }

    private static Frame chunk(int i) {
        byte[] b = new byte[FRAME];
        for (int k = 0; k < FRAME; k += 4096) b[k] = (byte) i;
        b[FRAME - 1] = (byte) (i * 7);
        return new Frame.ChunkData(0, (long) i * FRAME, FRAME, Frame.Encoding.RAW, ByteBuffer.wrap(b));
    }

    /** Sends FRAMES chunks from another thread; the future ends with the send's failure, if any. */
    private static CompletableFuture<Void> sender(NettyPeerChannel ch, AtomicInteger sent) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                for (int i = 0; i < FRAMES; i++) {
                    ch.send(chunk(i));
                    sent.incrementAndGet();
                }
                done.complete(null);
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        }, "test-sender");
        t.setDaemon(true);
        t.start();
        return done;
    }

    @Test
    void slowReaderMakesSendBlockWithBoundedBuffers() throws Exception {
        SlowReader reader = new SlowReader();
        Pair p = connect(reader);
        AtomicInteger sent = new AtomicInteger();
        CompletableFuture<Void> sending = sender(p.client(), sent);

        await(p.server().firstReadPause()); // the reader's queue is full: it stopped reading
        await(p.client().nextBlockedSend()); // and a send waits since
        int sentWhenBlocked = sent.get();
        assertTrue(sentWhenBlocked < FRAMES, "send blocked before everything was buffered: " + sentWhenBlocked);
        long high = SMALL.writeHighWaterMark();
        assertTrue(p.client().peakOutboundBytes() <= high + 4L * FRAME,
                "sender buffered " + p.client().peakOutboundBytes() + " bytes, high water mark " + high);

        release.countDown();
        await(sending);
        assertEquals(FRAMES, sent.get());
        for (int i = 0; i < FRAMES; i++) assertEquals(chunk(i), reader.next(), "chunk " + i);
        assertTrue(p.client().blockedSends() > 0);
        assertTrue(p.server().peakInboundBytes() <= SMALL.readHighWaterMark() + 4L * 1024 * 1024,
                "reader queued " + p.server().peakInboundBytes() + " bytes");
        assertTrue(p.client().peakOutboundBytes() <= high + 4L * FRAME,
                "sender buffered " + p.client().peakOutboundBytes() + " bytes");
        System.out.printf("backpressure: blocked (reader paused) after %d of %d frames; peak outbound %d B (high %d), peak inbound %d B"
                + " (read high %d), blocked waits %d%n", sentWhenBlocked, FRAMES, p.client().peakOutboundBytes(), high,
                p.server().peakInboundBytes(), SMALL.readHighWaterMark(), p.client().blockedSends());
    }

    @Test
    void remoteCloseFailsBlockedSends() throws Exception {
        Pair p = connect(new SlowReader());
        CompletableFuture<Void> sending = sender(p.client(), new AtomicInteger());
        await(p.client().firstBlockedSend());

        p.server().close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> await(sending));
        assertInstanceOf(PeerChannelClosedException.class, e.getCause());
        ExecutionException closed = assertThrows(ExecutionException.class, () -> await(p.client().closed()));
        assertInstanceOf(PeerChannelClosedException.class, closed.getCause());
        assertThrows(PeerChannelClosedException.class, () -> p.client().send(new Frame.Done()));
    }

    @Test
    void localCloseFailsBlockedSends() throws Exception {
        Pair p = connect(new SlowReader());
        CompletableFuture<Void> sending = sender(p.client(), new AtomicInteger());
        await(p.client().firstBlockedSend());

        p.client().close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> await(sending));
        assertInstanceOf(PeerChannelClosedException.class, e.getCause());
        assertNull(await(p.client().closed()), "an orderly local close");
        release.countDown(); // a paused reader notices the end of the stream once it reads again
        ExecutionException remote = assertThrows(ExecutionException.class, () -> await(p.server().closed()));
        assertInstanceOf(PeerChannelClosedException.class, remote.getCause());
    }
}
