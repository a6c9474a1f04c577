package io.vmmig.nbd.server;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Builds raw test images: a sparse file of a given size with seeded random data at chosen ranges. */
public final class SparseImage {
    private SparseImage() {}

    /** Creates {@code path} of {@code size} bytes, all hole, then writes random data at each (offset, length) pair. */
    public static void create(Path path, long size, long seed, long... offsetLengthPairs) throws IOException {
        Files.deleteIfExists(path);
        Random rnd = new Random(seed);
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
            raf.setLength(size);
            FileChannel ch = raf.getChannel();
            for (int i = 0; i < offsetLengthPairs.length; i += 2) {
                byte[] data = new byte[(int) offsetLengthPairs[i + 1]];
                rnd.nextBytes(data);
                ByteBuffer b = ByteBuffer.wrap(data);
                long pos = offsetLengthPairs[i];
                while (b.hasRemaining()) pos += ch.write(b, pos);
            }
        }
    }

    /** @return 512-byte blocks allocated to the file (stat %b) */
    public static long allocatedBlocks(Path path) throws IOException, InterruptedException {
        return Long.parseLong(ExternalCommand.runOk(java.time.Duration.ofSeconds(10), "stat", "-c", "%b", path.toString())
                .stdout().trim());
    }
}
