package io.vmmig.nbd.server;

import io.vmmig.nbd.backend.LocalFileBackend;
import io.vmmig.nbd.client.BlockStatus;
import io.vmmig.nbd.client.Extent;
import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.client.NbdClientOptions;
import io.vmmig.nbd.client.NbdServerErrorException;
import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdReplyType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The project's own NBD client against the project's own server: the pair the agents will use. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class VmmigClientAgainstServerTest {
    private static final int MiB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void manyConcurrentWritesReadsZeroesAndBlockStatusAreByteExact() throws Exception {
        Path file = dir.resolve("disk.raw");
        SparseImage.create(file, 16L * MiB, 1);
        Path sock = dir.resolve("nbd.sock");
        byte[] expected = new byte[16 * MiB];
        try (LocalFileBackend backend = LocalFileBackend.open(file, false);
             NbdServer server = NbdServer.start(UnixDomainSocketAddress.of(sock), List.of(new NbdExport("disk", "d", backend)));
             NbdClient c = NbdClient.connect(sock, NbdClientOptions.of("disk")
                     .withMetaContexts(NbdReplyType.META_BASE_ALLOCATION).withRequestTimeout(Duration.ofSeconds(20)))) {
            assertEquals(16L * MiB, c.export().size());
            Random rnd = new Random(5);
            List<CompletableFuture<Void>> writes = new ArrayList<>();
            for (int i = 0; i < 64; i++) { // 64 x 64 KiB in flight at once, every other 128 KiB slot
                byte[] data = new byte[64 * 1024];
                rnd.nextBytes(data);
                int off = i * 128 * 1024;
                System.arraycopy(data, 0, expected, off, data.length);
                writes.add(c.write(off, ByteBuffer.wrap(data), i % 8 == 0));
            }
            for (CompletableFuture<Void> w : writes) NbdClient.await(w);
            NbdClient.await(c.writeZeroes(0, 64 * 1024, 0)); // may punch
            Arrays.fill(expected, 0, 64 * 1024, (byte) 0);
            NbdClient.await(c.writeZeroes(128 * 1024, 64 * 1024, NbdCommand.FLAG_NO_HOLE));
            Arrays.fill(expected, 128 * 1024, 192 * 1024, (byte) 0);
            NbdClient.await(c.flush());

            ByteBuffer all = ByteBuffer.allocateDirect(16 * MiB);
            NbdClient.await(c.read(0, all));
            byte[] got = new byte[16 * MiB];
            all.get(got);
            assertArrayEquals(expected, got, "read back through the server");
            assertArrayEquals(expected, Files.readAllBytes(file), "backing file");

            BlockStatus bs = NbdClient.await(c.blockStatus(8L * MiB, 8L * MiB, false));
            List<Extent> ex = bs.extents(NbdReplyType.META_BASE_ALLOCATION);
            assertEquals(1, ex.size(), "the upper 8 MiB were never written: " + ex);
            assertEquals(NbdReplyType.STATE_HOLE | NbdReplyType.STATE_ZERO, ex.get(0).flags());

            try (NbdClient unchecked = NbdClient.connect(sock, NbdClientOptions.of("disk").withCheckBounds(false))) {
                NbdServerErrorException e = assertThrows(NbdServerErrorException.class,
                        () -> NbdClient.await(unchecked.read(16L * MiB, ByteBuffer.allocate(512))));
                assertTrue(e.getMessage().contains("EINVAL"), e.getMessage());
                NbdClient.await(unchecked.read(0, ByteBuffer.allocate(512))); // still usable after the error
            }
        }
    }
}
