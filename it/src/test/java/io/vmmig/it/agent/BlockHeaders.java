package io.vmmig.it.agent;

import io.vmmig.it.migration.QemuImg;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The test guest's block headers as they are on an image file, read beside the QEMU that may hold it
 * ({@code qemu-img convert -U} to a raw copy): what a guest {@code VERIFY FAIL} found, told apart by
 * where the bytes are wrong. The header (testkit's workload.c) is u64 magic {@code VMMIGBLK}, u64 block
 * number, u64 generation, u64 checksum, little endian, at the start of every block.
 *
 * <p>Reading: if the source's image holds the right block at a failing block and the destination's
 * does not, the bytes went wrong in the transfer (vmmig's disk path); if the destination's holds a
 * generation the source never had (newer), the destination guest wrote it after the switchover, and a
 * wrong header there came from the guest itself (its RAM: see shared/notes/tcg-stale-ram.md).
 */
final class BlockHeaders {
    private static final long MAGIC = 0x4b4c4247494d4d56L;
    private static final Pattern FAILED_BLOCK = Pattern.compile("block=(\\d+)");

    /** One block's header as found: {@code block} -1 when the magic is not there (zeroes, foreign bytes). */
    record Header(long block, long gen) {
        @Override
        public String toString() {
            return block < 0 ? "no-header" : "block-" + block + "/gen-" + gen;
        }
    }

    private final Path raw;
    private final int blockSize;

    private BlockHeaders(Path raw, int blockSize) {
        this.raw = raw;
        this.blockSize = blockSize;
    }

    /** A raw copy of {@code image} (qcow2 or raw, possibly open in a running QEMU) in {@code scratch}. */
    static BlockHeaders of(Path image, Path scratch, int blockSize) throws IOException {
        Files.createDirectories(scratch);
        Path raw = Files.createTempFile(scratch, image.getFileName().toString(), ".raw");
        QemuImg.run(List.of("qemu-img", "convert", "-U", "-O", "raw", image.toString(), raw.toString()));
        return new BlockHeaders(raw, blockSize);
    }

    private java.util.Map<Long, Header> cache = new java.util.HashMap<>();

    Header at(long block) throws IOException {
        Header h = cache.get(block);
        if (h != null) return h;
        try (FileChannel ch = FileChannel.open(raw, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, block * blockSize);
            b.flip();
            h = b.remaining() < 24 || b.getLong() != MAGIC ? new Header(-1, -1) : new Header(b.getLong(), b.getLong());
        }
        cache.put(block, h);
        return h;
    }

    /** Blocks of {@code [0, blocks)} whose header names another block (or none): misplaced or lost bytes. */
    List<Long> misplaced(long blocks) throws IOException {
        List<Long> out = new ArrayList<>();
        for (long b = 0; b < blocks; b++) if (at(b).block() != b) out.add(b);
        return out;
    }

    /**
     * What a failing {@code VERIFY} line points at, on both images: the failing block and the ones around
     * it, then every block of the area whose header is misplaced on either image, with its header on both.
     */
    static String diagnose(String verdict, Path destinationImage, Path sourceImage, Path scratch, long blocks, int blockSize) {
        StringBuilder s = new StringBuilder("block headers (destination image | source image) for: ").append(verdict).append('\n');
        try {
            BlockHeaders dst = of(destinationImage, scratch, blockSize);
            BlockHeaders src = of(sourceImage, scratch, blockSize);
            Matcher m = FAILED_BLOCK.matcher(verdict);
            if (m.find()) {
                long failed = Long.parseLong(m.group(1));
                for (long b = Math.max(0, failed - 2); b <= Math.min(blocks - 1, failed + 2); b++)
                    s.append("  block ").append(b).append(": ").append(dst.at(b)).append(" | ").append(src.at(b)).append('\n');
            }
            List<Long> wrongDst = dst.misplaced(blocks);
            List<Long> wrongSrc = src.misplaced(blocks);
            s.append("  misplaced headers: ").append(wrongDst.size()).append(" at the destination, ")
                    .append(wrongSrc.size()).append(" at the source\n");
            java.util.TreeSet<Long> all = new java.util.TreeSet<>(wrongDst);
            all.addAll(wrongSrc);
            int shown = 0;
            for (long b : all) {
                if (shown++ == 64) {
                    s.append("  ...\n");
                    break;
                }
                s.append("  block ").append(b).append(": ").append(dst.at(b)).append(" | ").append(src.at(b)).append('\n');
            }
            long behind = 0;
            for (long b = 0; b < blocks; b++) {
                Header d = dst.at(b);
                Header o = src.at(b);
                if (d.block() == b && o.block() == b && d.gen() < o.gen()) {
                    if (behind++ < 16) s.append("  block ").append(b).append(" behind the source: ").append(d).append(" | ").append(o).append('\n');
                }
            }
            s.append("  blocks older at the destination than at the source: ").append(behind).append('\n');
            Files.deleteIfExists(dst.raw);
            Files.deleteIfExists(src.raw);
        } catch (IOException | RuntimeException e) {
            s.append("  (could not read the images: ").append(e).append(")\n");
        }
        return s.toString();
    }
}
