package io.vmmig.agent.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Neighbourhood dedup (seed 003), both roles. As a destination the agent keeps a fingerprint index of
 * the chunks of the images it holds (its {@code image-dirs} and {@code neighbourDirs}) and answers the
 * source's fingerprints from it; as a source it sends fingerprints first when the destination says it
 * has an index ({@code dedup = on} on both is the default: a destination without images simply has no hits).
 *
 * @param enabled       {@code dedup = on|off}
 * @param neighbourDirs {@code dedup.neighbour-dirs}: more directories of images to index (base images, other VMs)
 * @param indexDir      {@code dedup.index-dir}: where the index is kept; null = {@code <state-dir>/dedup}
 * @param chunkSize     {@code dedup.chunk-size}: the chunk size the index is built at (migrations at another size send everything)
 * @param rescan        {@code dedup.rescan}: how often the image directories are checked for new or changed files
 * @param settle        {@code dedup.settle}: files modified more recently than this are left for a later rescan
 */
public record DedupConfig(boolean enabled, List<Path> neighbourDirs, Path indexDir, int chunkSize, Duration rescan,
                          Duration settle) {
    public static final int DEFAULT_CHUNK = 64 * 1024;

    public DedupConfig {
        neighbourDirs = List.copyOf(neighbourDirs);
        if (chunkSize < 4096 || Integer.bitCount(chunkSize) != 1)
            throw new IllegalArgumentException("dedup.chunk-size must be a power of two >= 4096, got " + chunkSize);
        if (rescan.isNegative() || rescan.isZero()) throw new IllegalArgumentException("dedup.rescan must be > 0");
        if (settle.isNegative()) throw new IllegalArgumentException("dedup.settle must be >= 0");
    }

    /** On, no neighbour directories, 64 KiB, rescan every 5 minutes, files left alone for a minute after a change. */
    public static DedupConfig defaults() {
        return new DedupConfig(true, List.of(), null, DEFAULT_CHUNK, Duration.ofMinutes(5), Duration.ofMinutes(1));
    }

    public static DedupConfig off() {
        return new DedupConfig(false, List.of(), null, DEFAULT_CHUNK, Duration.ofMinutes(5), Duration.ofMinutes(1));
    }

    public DedupConfig withNeighbourDirs(List<Path> dirs) {
        return new DedupConfig(enabled, dirs, indexDir, chunkSize, rescan, settle);
    }

    public DedupConfig withSettle(Duration s) {
        return new DedupConfig(enabled, neighbourDirs, indexDir, chunkSize, rescan, s);
    }

    public DedupConfig withEnabled(boolean on) {
        return new DedupConfig(on, neighbourDirs, indexDir, chunkSize, rescan, settle);
    }
}
