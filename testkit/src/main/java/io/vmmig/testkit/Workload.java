package io.vmmig.testkit;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Parameters of the test guest's disk workload, passed on the kernel command line ({@link #kernelArgs()}).
 * See testkit/README.md for what the guest does with them.
 *
 * @param blocks            size of the written area in blocks, starting at block {@code firstBlock} of the disk
 * @param blockSize         bytes per block (multiple of 512; one O_DIRECT write each)
 * @param phases            what the writer does, in order; the last never-ending phase runs forever
 * @param hotBlocks         size of the hot set for {@link Phase#HOT}
 * @param hotFirst          first block of the hot set
 * @param writesPerSecond   rate limit for SEQ/HOT/RANDOM (0 = unlimited); PREFILL is never limited
 * @param verifyAfterSeconds verify once this long after start (0 = only on the {@code verify} command)
 * @param heartbeatMs       heartbeat period
 * @param seed              payload and block-choice seed
 * @param marker            a text the guest holds in RAM (a 4 KiB buffer of it repeated) and writes into every
 *                          block (the first 64 bytes of the payload: the text repeated), for tests that look for
 *                          the guest's data where it must not be (a packet capture); null: none. 1-32 printable
 *                          ASCII characters without blanks
 * @param textPayload       payloads of words from a 16-word vocabulary (compressible like text, ~5x with zstd)
 *                          instead of pseudo-random bytes (incompressible); verified the same way
 * @param secondDisk        a second disk ({@code /dev/vdb}) the area continues on: blocks {@code [0, blocks)} on the
 *                          first, {@code [blocks, 2 blocks)} on this one, hot writes alternating; {@code VERIFY} then
 *                          also prints a {@code VERIFY DISK <dev> OK|FAIL <checked> failures=<f>} line per disk. Null: one disk
 * @param firstBlock        the block of each disk where the area starts (0: the disk's start), e.g. past a file
 *                          system that must stay as it is
 */
public record Workload(long blocks, int blockSize, List<Phase> phases, long hotBlocks, long hotFirst,
                       long writesPerSecond, int verifyAfterSeconds, int heartbeatMs, long seed, String marker,
                       boolean textPayload, String secondDisk, long firstBlock) {

    /** A writer phase; PREFILL and IDLE end, the others run until the guest stops. */
    public enum Phase {
        /** One sequential pass over the area (unthrottled): afterwards every block has generation >= 1. */
        PREFILL,
        /** Sequential passes forever. */
        SEQ,
        /** Random writes over the hot set forever. */
        HOT,
        /** Random writes over the whole area forever. */
        RANDOM,
        /** No more writes. */
        IDLE
    }

    public Workload {
        phases = List.copyOf(phases);
        if (blocks <= 0) {
            throw new IllegalArgumentException("blocks must be > 0, was " + blocks);
        }
        if (blockSize < 512 || blockSize % 512 != 0) {
            throw new IllegalArgumentException("blockSize must be a positive multiple of 512, was " + blockSize);
        }
        if (phases.isEmpty()) {
            throw new IllegalArgumentException("at least one phase is needed");
        }
        if (hotBlocks <= 0 || hotFirst < 0 || hotFirst + hotBlocks > blocks) {
            throw new IllegalArgumentException("hot set [" + hotFirst + ", " + (hotFirst + hotBlocks)
                    + ") must lie inside the area of " + blocks + " blocks");
        }
        if (writesPerSecond < 0 || verifyAfterSeconds < 0 || heartbeatMs <= 0) {
            throw new IllegalArgumentException("writesPerSecond/verifyAfterSeconds must be >= 0, heartbeatMs > 0");
        }
        if (firstBlock < 0) {
            throw new IllegalArgumentException("firstBlock must be >= 0, was " + firstBlock);
        }
        if (marker != null && !marker.matches("[\\x21-\\x7e]{1,32}")) {
            throw new IllegalArgumentException("marker must be 1-32 printable ASCII characters without blanks, was '"
                    + marker + "'");
        }
    }

    /** 4096 blocks of 4 KiB (16 MiB), prefill then hot writes over 64 blocks at 1000 writes/s, heartbeat 20 ms. */
    public static Workload defaults() {
        return new Workload(4096, 4096, List.of(Phase.PREFILL, Phase.HOT), 64, 0, 1000, 0, 20, 1, null, false, null, 0);
    }

    public Workload withBlocks(long n) {
        return new Workload(n, blockSize, phases, Math.min(hotBlocks, n), Math.min(hotFirst, n - Math.min(hotBlocks, n)),
                writesPerSecond, verifyAfterSeconds, heartbeatMs, seed, marker, textPayload, secondDisk, firstBlock);
    }

    public Workload withBlockSize(int bytes) {
        return new Workload(blocks, bytes, phases, hotBlocks, hotFirst, writesPerSecond, verifyAfterSeconds, heartbeatMs, seed, marker, textPayload, secondDisk, firstBlock);
    }

    public Workload withPhases(Phase... p) {
        return new Workload(blocks, blockSize, List.of(p), hotBlocks, hotFirst, writesPerSecond, verifyAfterSeconds, heartbeatMs, seed, marker, textPayload, secondDisk, firstBlock);
    }

    public Workload withHotSet(long first, long count) {
        return new Workload(blocks, blockSize, phases, count, first, writesPerSecond, verifyAfterSeconds, heartbeatMs, seed, marker, textPayload, secondDisk, firstBlock);
    }

    public Workload withRate(long perSecond) {
        return new Workload(blocks, blockSize, phases, hotBlocks, hotFirst, perSecond, verifyAfterSeconds, heartbeatMs, seed, marker, textPayload, secondDisk, firstBlock);
    }

    public Workload withVerifyAfter(int seconds) {
        return new Workload(blocks, blockSize, phases, hotBlocks, hotFirst, writesPerSecond, seconds, heartbeatMs, seed, marker, textPayload, secondDisk, firstBlock);
    }

    public Workload withHeartbeatMs(int ms) {
        return new Workload(blocks, blockSize, phases, hotBlocks, hotFirst, writesPerSecond, verifyAfterSeconds, ms, seed, marker, textPayload, secondDisk, firstBlock);
    }

    public Workload withSeed(long s) {
        return new Workload(blocks, blockSize, phases, hotBlocks, hotFirst, writesPerSecond, verifyAfterSeconds, heartbeatMs, s, marker, textPayload, secondDisk, firstBlock);
    }

    /** This workload with the guest holding {@code text} in RAM and in every block it writes (see {@link #marker}). */
    public Workload withMarker(String text) {
        return new Workload(blocks, blockSize, phases, hotBlocks, hotFirst, writesPerSecond, verifyAfterSeconds, heartbeatMs, seed, text, textPayload, secondDisk, firstBlock);
    }

    /** This workload with compressible (text-like) payloads, see {@link #textPayload}. */
    public Workload withTextPayload(boolean on) {
        return new Workload(blocks, blockSize, phases, hotBlocks, hotFirst, writesPerSecond, verifyAfterSeconds, heartbeatMs, seed, marker, on, secondDisk, firstBlock);
    }

    /** This workload writing over two disks: the first and {@code device} (e.g. {@code /dev/vdb}), each {@link #blocks} long. */
    public Workload withSecondDisk(String device) {
        if (device != null && !device.matches("/dev/[a-z0-9]+")) throw new IllegalArgumentException("not a device path: " + device);
        return new Workload(blocks, blockSize, phases, hotBlocks, hotFirst, writesPerSecond, verifyAfterSeconds, heartbeatMs, seed, marker,
                textPayload, device, firstBlock);
    }

    /** This workload with its area starting at block {@code block} of each disk, see {@link #firstBlock}. */
    public Workload withFirstBlock(long block) {
        return new Workload(blocks, blockSize, phases, hotBlocks, hotFirst, writesPerSecond, verifyAfterSeconds, heartbeatMs, seed, marker,
                textPayload, secondDisk, block);
    }

    /** Bytes of the area the workload writes. */
    public long areaBytes() {
        return blocks * blockSize;
    }

    /** Bytes of disk the workload needs: its area and what lies before it. The disk must be at least this big. */
    public long diskBytesNeeded() {
        return (firstBlock + blocks) * blockSize;
    }

    /** The {@code vmmig.*} kernel command-line parameters. */
    public String kernelArgs() {
        return "vmmig.blocks=" + blocks + " vmmig.bs=" + blockSize
                + " vmmig.mode=" + phases.stream().map(p -> p.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(","))
                + " vmmig.hot=" + hotBlocks + " vmmig.hot_first=" + hotFirst + " vmmig.rate=" + writesPerSecond
                + " vmmig.verify_after=" + verifyAfterSeconds + " vmmig.hb_ms=" + heartbeatMs + " vmmig.seed=" + seed
                + (marker == null ? "" : " vmmig.marker=" + marker) + (textPayload ? " vmmig.fill=text" : "")
                + (secondDisk == null ? "" : " vmmig.dev2=" + secondDisk) + (firstBlock == 0 ? "" : " vmmig.first=" + firstBlock);
    }
}
