package io.vmmig.agent.session;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.config.DedupConfig;
import io.vmmig.strategy.dedup.FingerprintIndex;
import io.vmmig.strategy.dedup.LocalChunkMatcher;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The destination agent's fingerprint index of the images it holds (its {@code image-dirs} and
 * {@code dedup.neighbour-dirs}), kept in {@code dedup.index-dir} and brought up to date in the
 * background every {@code dedup.rescan} (the first time at start). A migration at the index's chunk
 * size answers its source's fingerprints from it ({@link #matcher}).
 */
public final class NeighbourhoodIndex implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NeighbourhoodIndex.class);
    private final FingerprintIndex index;   // null when dedup is off or the index could not be opened
    private final ScheduledExecutorService refresher;

    private NeighbourhoodIndex(FingerprintIndex index, ScheduledExecutorService refresher) {
        this.index = index;
        this.refresher = refresher;
    }

    /** No index: every fingerprint is a miss, and the destination tells sources not to send them. */
    public static NeighbourhoodIndex none() {
        return new NeighbourhoodIndex(null, null);
    }

    public static NeighbourhoodIndex start(AgentConfig config) {
        DedupConfig d = config.dedup();
        if (!d.enabled()) return none();
        List<Path> roots = new ArrayList<>(config.imageDirs());
        roots.addAll(d.neighbourDirs());
        FingerprintIndex ix;
        try {
            ix = FingerprintIndex.open(config.dedupIndexDir(), d.chunkSize(), roots, d.settle());
        } catch (IOException | RuntimeException e) {
            LOG.warn("dedup: cannot open the fingerprint index in {} ({}); migrations to this host send every chunk",
                    config.dedupIndexDir(), e.toString());
            return none();
        }
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "vmmig-dedup-index");
            t.setDaemon(true);
            t.setPriority(Thread.MIN_PRIORITY);
            return t;
        });
        NeighbourhoodIndex n = new NeighbourhoodIndex(ix, s);
        s.scheduleWithFixedDelay(n::refreshQuietly, 0, d.rescan().toMillis(), TimeUnit.MILLISECONDS);
        return n;
    }

    private void refreshQuietly() {
        try {
            long t0 = System.nanoTime();
            FingerprintIndex.RefreshResult r = index.refresh();
            if (r.filesIndexed() > 0 || r.filesDropped() > 0) {
                FingerprintIndex.Stats s = index.stats();
                LOG.info("dedup index: {} files indexed ({} chunks), {} dropped, {} unchanged in {} ms; {} files, {} entries, {} bytes",
                        r.filesIndexed(), r.chunksRead(), r.filesDropped(), r.filesUnchanged(), (System.nanoTime() - t0) / 1_000_000,
                        s.files(), s.liveEntries(), s.tableBytes());
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("dedup index: refresh failed: {}", e.toString());
        }
    }

    /** Brings the index up to date now (blocking), e.g. before a migration that must find its neighbours. */
    public void refreshNow() throws IOException {
        if (index != null) index.refresh();
    }

    /**
     * A matcher for one migration at {@code chunkSize}, if this host has an index at a size dividing it
     * (the source then fingerprints pieces of the index's size) with at least one file in it (otherwise
     * fingerprints would only cost bytes).
     */
    public Optional<LocalChunkMatcher> matcher(int chunkSize) {
        if (index == null || index.fileCount() == 0 || chunkSize % index.chunkSize() != 0
                || chunkSize / index.chunkSize() > io.vmmig.strategy.peer.Frame.MAX_FINGERPRINTS) return Optional.empty();
        return Optional.of(new LocalChunkMatcher(index));
    }

    public Optional<FingerprintIndex.Stats> stats() {
        return index == null ? Optional.empty() : Optional.of(index.stats());
    }

    @Override
    public void close() {
        if (refresher != null) refresher.shutdownNow();
        if (index != null) {
            try {
                if (refresher != null) refresher.awaitTermination(10, TimeUnit.SECONDS);
                index.close();
            } catch (IOException | InterruptedException e) {
                LOG.warn("dedup index: close: {}", e.toString());
            }
        }
    }
}
