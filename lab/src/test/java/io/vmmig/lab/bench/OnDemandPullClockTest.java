package io.vmmig.lab.bench;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.WriteCounts;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.peer.SocketPeerChannel;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnDemandPullClockTest {
    @TempDir
    Path dir;

    @Test
    void timesOnDemandPullsAfterTheHandOverUntilTheirAnswerAndLeavesBackgroundPullsOut() throws Exception {
        Path sock = dir.resolve("peer.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            try (SocketPeerChannel source = SocketPeerChannel.connect(UnixDomainSocketAddress.of(sock));
                 OnDemandPullClock destination = new OnDemandPullClock(new SocketPeerChannel(server.accept()))) {
                // The source answers every PULL with a chunk of the same id, and hands over after pull 6.
                source.start((ch, f) -> {
                    if (f instanceof Frame.Pull p) {
                        try {
                            ch.send(new Frame.ChunkData(p.requestId(), p.offset(), 4, Frame.Encoding.RAW,
                                    ByteBuffer.wrap(new byte[] {1, 2, 3, 4})));
                            if (p.requestId() == 6)
                                ch.send(new Frame.Remaining(new RemainingSet(new BitSet(), new WriteCounts(4))));
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }
                });
                LinkedBlockingQueue<Frame> got = new LinkedBlockingQueue<>();
                LinkedBlockingQueue<PeerChannel> via = new LinkedBlockingQueue<>();
                destination.start((ch, f) -> {
                    via.add(ch);
                    got.add(f);
                });
                // Before the hand-over: the destination QEMU's first read, not the guest waiting.
                destination.send(new Frame.Pull(6, 0, 4, Frame.Priority.ON_DEMAND));
                assertInstanceOf(Frame.ChunkData.class, got.poll(10, TimeUnit.SECONDS));
                assertInstanceOf(Frame.Remaining.class, got.poll(10, TimeUnit.SECONDS));
                via.clear();
                destination.send(new Frame.Pull(7, 0, 4, Frame.Priority.ON_DEMAND));
                destination.send(new Frame.Pull(8, 4096, 4, Frame.Priority.BACKGROUND));
                destination.send(new Frame.Pull(9, 8192, 4, Frame.Priority.ON_DEMAND));
                long t0 = System.nanoTime();
                for (long id : new long[] {7, 8, 9}) {
                    Frame f = got.poll(10, TimeUnit.SECONDS);
                    assertInstanceOf(Frame.ChunkData.class, f, "answer to pull " + id);
                    assertEquals(id, ((Frame.ChunkData) f).requestId());
                    assertSame(destination, via.poll(), "the handler sees the clock, not the inner channel");
                }
                long elapsedMicros = (System.nanoTime() - t0) / 1000;
                List<Long> rtts = destination.roundTripsMicros();
                assertEquals(2, rtts.size(), "only the two on-demand pulls after the hand-over: " + rtts);
                for (long us : rtts) assertTrue(us >= 0 && us <= elapsedMicros + 1_000_000, "round trip " + us + " us");
            }
        } finally {
            Files.deleteIfExists(sock);
        }
    }
}
