package io.vmmig.strategy.hybrid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.strategy.DiskLayout;
import io.vmmig.strategy.DiskSetBackend;
import io.vmmig.strategy.DiskWindow;
import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.destination.DestinationDiskTransfer;
import io.vmmig.strategy.peer.SocketPeerChannel;
import io.vmmig.strategy.source.SourceDiskTransfer;
import io.vmmig.strategy.source.SourceOptions;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two disks of odd sizes (the first ends inside a chunk) in one hybrid transfer over TCP: one push,
 * one hand-over holding chunks of both disks, one pull hottest first across them; each destination
 * image equals its source byte for byte, and a guest read of the second disk through its window is
 * answered from the second disk.
 */
class MultiDiskTransferTest {
    private static final int CHUNK = 64 * 1024;
    private static final long SIZE_A = 10L * CHUNK + 4096;   // padded to 11 chunks in the address space
    private static final long SIZE_B = 7L * CHUNK;

    @TempDir Path dir;
    private final Random rnd = new Random(5);

    private LocalFileBackend file(String name, long size, boolean fill) throws Exception {
        byte[] data = new byte[(int) size];
        if (fill) rnd.nextBytes(data);
        Files.write(dir.resolve(name), data);
        return LocalFileBackend.open(dir.resolve(name), false);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            synchronized (condition) {
                condition.wait(5);
            }
        }
    }

    /** The guest writes chunk {@code c} of the address space (inside disk a or b) at the source. */
    private void write(BlockBackend sourceSet, DiskLayout l, int c, BitSet dirty) {
        long offset = (long) c * CHUNK;
        DiskLayout.Disk d = l.diskAt(offset);
        int length = (int) Math.min(CHUNK, d.end() - offset);
        byte[] data = new byte[length];
        rnd.nextBytes(data);
        sourceSet.write(offset, ByteBuffer.wrap(data), false).join();
        dirty.set(c);
    }

    @Test
    void twoDisksMoveInOneTransferEachByteForByte() throws Exception {
        DiskLayout layout = DiskLayout.of(List.of("a", "b"), List.of(SIZE_A, SIZE_B), CHUNK);
        assertEquals(18, layout.geometry().count());
        try (LocalFileBackend srcA = file("src-a.raw", SIZE_A, true); LocalFileBackend srcB = file("src-b.raw", SIZE_B, true);
             LocalFileBackend dstA = file("dst-a.raw", SIZE_A, false); LocalFileBackend dstB = file("dst-b.raw", SIZE_B, false)) {
            DiskSetBackend source = new DiskSetBackend(layout, List.of(srcA, srcB));
            DiskSetBackend store = new DiskSetBackend(layout, List.of(dstA, dstB));
            BitSet allocated = new BitSet();
            allocated.set(0, layout.geometry().count());
            SourceDiskTransfer src;
            DestinationDiskTransfer dst;
            try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
                SocketPeerChannel srcChannel = SocketPeerChannel.connect(server.getLocalAddress());
                SocketChannel accepted = server.accept();
                dst = new DestinationDiskTransfer(layout.geometry(), store, new SocketPeerChannel(accepted), 2);
                dst.start();
                src = new SourceDiskTransfer(layout.geometry(), source, allocated, srcChannel, new SourceOptions(2, 4, 1 << 20, false, true));
                src.countPerDisk(new int[] {layout.firstChunk(0), layout.firstChunk(1)});
            }
            try {
                src.start();
                await("initial push", src::caughtUp);
                long[] perDisk = src.pushedPerDisk();
                assertEquals(SIZE_A + (CHUNK - 4096), perDisk[0], "disk a's 11 chunks (its last one padded)");
                assertEquals(SIZE_B, perDisk[1]);
                assertEquals(src.counters().pushedBytes.get(), perDisk[0] + perDisk[1]);
                // chunk 10 ends disk a, chunk 11 starts disk b, chunk 15 is hot on disk b
                for (int epoch = 0; epoch < 4; epoch++) {
                    BitSet dirty = new BitSet();
                    write(source, layout, 15, dirty);
                    write(source, layout, epoch % 2 == 0 ? 10 : 11, dirty);
                    src.onEpoch(dirty);
                    await("epoch push", src::caughtUp);
                }
                BitSet last = new BitSet();
                write(source, layout, 15, last);
                write(source, layout, 3, last);
                write(source, layout, 10, last);
                RemainingSet rs = src.cutover(last, Duration.ofSeconds(20));
                assertTrue(rs.chunks().get(15) && rs.chunks().get(3) && rs.chunks().get(10), "both disks in one hand-over: " + rs.chunks());
                assertArrayEquals(new int[] {rs.chunks().get(0, 11).cardinality(), rs.chunks().get(11, 18).cardinality()},
                        layout.countPerDisk(rs.chunks()));
                assertTrue(rs.counts().get(15) > rs.counts().get(3), "disk b's hot chunk counts its writes");
                // the destination guest reads disk b through its window: disk b's bytes at its own offsets
                ByteBuffer probe = ByteBuffer.allocate(100);
                DiskWindow.of(dst.disk(), layout, 1).read(4L * CHUNK + 10, probe).get(20, TimeUnit.SECONDS);
                ByteBuffer truth = ByteBuffer.allocate(100);
                srcB.read(4L * CHUNK + 10, truth).join();
                assertArrayEquals(truth.array(), probe.array());
                dst.complete().get(20, TimeUnit.SECONDS);
                src.finished().get(20, TimeUnit.SECONDS);
            } finally {
                src.close();
                dst.close();
            }
            assertArrayEquals(Files.readAllBytes(dir.resolve("src-a.raw")), Files.readAllBytes(dir.resolve("dst-a.raw")), "disk a");
            assertArrayEquals(Files.readAllBytes(dir.resolve("src-b.raw")), Files.readAllBytes(dir.resolve("dst-b.raw")), "disk b");
            assertEquals(SIZE_A, Files.size(dir.resolve("dst-a.raw")), "nothing of the padding written into disk a's image");
        }
    }
}
