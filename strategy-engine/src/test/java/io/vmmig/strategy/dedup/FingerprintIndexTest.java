package io.vmmig.strategy.dedup;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FingerprintIndexTest {
    private static final int CHUNK = 4096;
    @TempDir Path tmp;

    private static byte[] randomChunks(int n, long seed) {
        byte[] b = new byte[n * CHUNK];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] sha(byte[] image, int chunk) {
        return ChunkDigest.of(ChunkDigest.sha256(), ByteBuffer.wrap(image, chunk * CHUNK, CHUNK));
    }

    private FingerprintIndex open() throws IOException {
        return FingerprintIndex.open(tmp.resolve("index"), CHUNK, List.of(tmp.resolve("images")), Duration.ZERO);
    }

    private Path image(String name, byte[] content) throws IOException {
        Files.createDirectories(tmp.resolve("images"));
        Path p = tmp.resolve("images").resolve(name);
        Files.write(p, content);
        Files.setLastModifiedTime(p, FileTime.fromMillis(System.currentTimeMillis() - 10_000));
        return p;
    }

    @Test
    void findsVerifiedChunksAndSkipsZeroChunks() throws IOException {
        byte[] a = randomChunks(64, 1);
        Arrays.fill(a, 10 * CHUNK, 12 * CHUNK, (byte) 0);   // two zero chunks: not indexed
        image("a.raw", a);
        try (FingerprintIndex ix = open()) {
            FingerprintIndex.RefreshResult r = ix.refresh();
            assertEquals(1, r.filesIndexed());
            assertEquals(62, r.chunksRead(), "64 chunks, 2 all zero");
            LocalChunkMatcher m = new LocalChunkMatcher(ix);
            ByteBuffer found = m.find(sha(a, 33), CHUNK);
            assertNotNull(found);
            assertArrayEquals(Arrays.copyOfRange(a, 33 * CHUNK, 34 * CHUNK), Arrays.copyOfRange(found.array(), 0, CHUNK));
            assertNull(m.find(sha(randomChunks(1, 99), 0), CHUNK), "a chunk this host does not hold");
            assertEquals(62, ix.stats().liveEntries());
        }
    }

    @Test
    void aForgedFingerprintIsCaughtByVerification() throws IOException {
        byte[] a = randomChunks(8, 2);
        image("a.raw", a);
        try (FingerprintIndex ix = open()) {
            ix.refresh();
            LocalChunkMatcher m = new LocalChunkMatcher(ix);
            // The source claims a digest whose indexed prefix (8 bytes) is chunk 5's, for other bytes.
            byte[] forged = sha(a, 5);
            forged[20] ^= 1;
            assertNull(m.find(forged, CHUNK), "the candidate's full SHA-256 differs: not used");
            assertEquals(1, m.rejected(), "the candidate was read and rejected");
            assertEquals(0, m.hits());
            assertNotNull(m.find(sha(a, 5), CHUNK));
            assertEquals(1, m.hits());
        }
    }

    @Test
    void survivesARestartWithoutReindexing() throws IOException {
        byte[] a = randomChunks(40, 3);
        byte[] b = randomChunks(40, 4);
        image("a.raw", a);
        image("b.raw", b);
        FingerprintIndex.Stats before;
        try (FingerprintIndex ix = open()) {
            assertEquals(2, ix.refresh().filesIndexed());
            before = ix.stats();
        }
        try (FingerprintIndex ix = open()) {
            assertEquals(before.liveEntries(), ix.stats().liveEntries(), "entries kept on disk");
            LocalChunkMatcher m = new LocalChunkMatcher(ix);
            assertNotNull(m.find(sha(b, 39), CHUNK), "found before any refresh after the restart");
            FingerprintIndex.RefreshResult r = ix.refresh();
            assertEquals(0, r.filesIndexed(), "nothing changed: nothing read again");
            assertEquals(2, r.filesUnchanged());
        }
    }

    @Test
    void aChangedFileIsIndexedAgainAndItsOldChunksAreGone() throws IOException {
        byte[] a = randomChunks(16, 5);
        Path p = image("a.raw", a);
        try (FingerprintIndex ix = open()) {
            ix.refresh();
            byte[] a2 = randomChunks(20, 6);
            Files.write(p, a2);
            Files.setLastModifiedTime(p, FileTime.fromMillis(System.currentTimeMillis() - 5_000));
            FingerprintIndex.RefreshResult r = ix.refresh();
            assertEquals(1, r.filesDropped());
            assertEquals(1, r.filesIndexed());
            LocalChunkMatcher m = new LocalChunkMatcher(ix);
            assertNull(m.find(sha(a, 3), CHUNK), "old content: its entries died with the old file id");
            assertNotNull(m.find(sha(a2, 19), CHUNK));
            assertEquals(20, ix.stats().liveEntries());
            Files.delete(p);
            assertEquals(1, ix.refresh().filesDropped());
            assertNull(m.find(sha(a2, 19), CHUNK));
            assertEquals(0, ix.stats().files());
        }
    }

    @Test
    void aFileStillBeingWrittenWaitsForTheNextRefresh() throws IOException {
        Files.createDirectories(tmp.resolve("images"));
        Files.write(tmp.resolve("images/new.raw"), randomChunks(4, 7));   // mtime now
        try (FingerprintIndex ix = FingerprintIndex.open(tmp.resolve("index"), CHUNK, List.of(tmp.resolve("images")),
                Duration.ofHours(1))) {
            assertEquals(0, ix.refresh().filesIndexed());
        }
    }

    @Test
    void growsPastItsFirstTableAndStaysCompact() throws IOException {
        byte[] a = randomChunks(20_000, 8);   // 20000 entries: the 4096-slot table grows three times
        image("big.raw", a);
        try (FingerprintIndex ix = open()) {
            ix.refresh();
            FingerprintIndex.Stats s = ix.stats();
            assertEquals(20_000, s.liveEntries());
            assertTrue(s.bytesPerEntry() <= 16 / 0.4, "bytes per entry " + s.bytesPerEntry());
            LocalChunkMatcher m = new LocalChunkMatcher(ix);
            for (int c = 0; c < 20_000; c += 997) assertNotNull(m.find(sha(a, c), CHUNK), "chunk " + c);
        }
        try (FingerprintIndex ix = open()) {
            assertNotNull(new LocalChunkMatcher(ix).find(sha(a, 12_345), CHUNK), "the grown table reopened");
        }
    }
}
