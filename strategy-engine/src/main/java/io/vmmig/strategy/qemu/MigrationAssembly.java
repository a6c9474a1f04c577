package io.vmmig.strategy.qemu;

import io.vmmig.qmp.QmpClient;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.source.SourceOptions;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.function.UnaryOperator;

/**
 * The one way a migration is put together, side by side: from one {@link Plan}, the source's disk
 * strategy and driver, and the destination's disk strategy, with the product's defaults (epoch
 * interval, pullers, pre-copy limits). The agent's sessions and the engine-level tests build their
 * migrations here, so the tests run the shipped wiring.
 */
public final class MigrationAssembly {
    /** Epoch of the dirty-bitmap rotation: how often the source learns what the guest wrote. */
    public static final Duration EPOCH = Duration.ofMillis(300);

    private MigrationAssembly() {}

    /**
     * What both sides agree on.
     *
     * @param strategyName the strategy as the user named it ({@code mirror-wb}); null: the engine's name
     * @param mirrorMode   for {@link Strategy#MIRROR}: background or write-blocking; ignored otherwise
     * @param push         source push knobs (threshold, bandwidth); the strategy adjusts them
     * @param sourceTls    the source's memory stream and mirror NBD client in TLS, or null for plain
     * @param destinationTlsCreds the destination's mirror NBD server {@code tls-creds} id, or null for plain
     * @param memory       the source QEMU's memory migration settings vmmig sets before {@code migrate}, or null to
     *                     leave QEMU's own (its defaults cap memory at 128 MiB/s)
     * @param link         the source's part of the link that its push and memory share ({@link LinkGovernor}), or null
     */
    public record Plan(String migrationId, Strategy strategy, String strategyName, MirrorSource.Mode mirrorMode,
                       List<String> diskNodes, int chunkSize, Duration timeout, SourceOptions push,
                       ChunkTransferSource.PrecopyLimits precopyLimits, int pullers, StreamTls sourceTls,
                       String destinationTlsCreds, MemorySettings memory, io.vmmig.strategy.link.LinkBudget.Share link) {
        public Plan {
            Objects.requireNonNull(migrationId, "migrationId");
            Objects.requireNonNull(strategy, "strategy");
            diskNodes = List.copyOf(diskNodes);
            if (diskNodes.isEmpty()) throw new IllegalArgumentException("a migration moves at least one disk");
            if (strategyName == null) strategyName = strategy.cliName();
            if (mirrorMode == null) mirrorMode = MirrorSource.Mode.BACKGROUND;
            if (push == null) push = SourceOptions.defaults();
            if (precopyLimits == null) precopyLimits = ChunkTransferSource.PrecopyLimits.defaults();
            if (pullers <= 0) pullers = ChunkTransferDestination.DEFAULT_PULLERS;
        }

        /** The product's defaults for everything not named. */
        public static Plan of(String migrationId, Strategy strategy, String strategyName, MirrorSource.Mode mirrorMode,
                              List<String> diskNodes, int chunkSize, Duration timeout) {
            return new Plan(migrationId, strategy, strategyName, mirrorMode, diskNodes, chunkSize, timeout, null, null, 0, null, null, null, null);
        }

        /** One disk. */
        public static Plan of(String migrationId, Strategy strategy, String strategyName, MirrorSource.Mode mirrorMode,
                              String diskNode, int chunkSize, Duration timeout) {
            return of(migrationId, strategy, strategyName, mirrorMode, List.of(diskNode), chunkSize, timeout);
        }
        public Plan withPush(SourceOptions p) {
            return new Plan(migrationId, strategy, strategyName, mirrorMode, diskNodes, chunkSize, timeout, p, precopyLimits, pullers, sourceTls, destinationTlsCreds, memory, link);
        }

        public Plan withPrecopyLimits(ChunkTransferSource.PrecopyLimits l) {
            return new Plan(migrationId, strategy, strategyName, mirrorMode, diskNodes, chunkSize, timeout, push, l, pullers, sourceTls, destinationTlsCreds, memory, link);
        }

        public Plan withPullers(int n) {
            return new Plan(migrationId, strategy, strategyName, mirrorMode, diskNodes, chunkSize, timeout, push, precopyLimits, n, sourceTls, destinationTlsCreds, memory, link);
        }

        /** With QEMU's streams in TLS: {@code source} at the source, {@code destinationCreds} at the destination. */
        public Plan withTls(StreamTls source, String destinationCreds) {
            return new Plan(migrationId, strategy, strategyName, mirrorMode, diskNodes, chunkSize, timeout, push, precopyLimits, pullers,
                    source, destinationCreds, memory, link);
        }

        /** With the memory migration's settings ({@code max-bandwidth}, {@code downtime-limit}, auto-converge) set before {@code migrate}. */
        public Plan withMemory(MemorySettings m) {
            return new Plan(migrationId, strategy, strategyName, mirrorMode, diskNodes, chunkSize, timeout, push, precopyLimits, pullers,
                    sourceTls, destinationTlsCreds, m, link);
        }

        /** With the source's push and memory kept inside {@code share} together. */
        public Plan withLink(io.vmmig.strategy.link.LinkBudget.Share share) {
            return new Plan(migrationId, strategy, strategyName, mirrorMode, diskNodes, chunkSize, timeout, push, precopyLimits, pullers,
                    sourceTls, destinationTlsCreds, memory, share);
        }

        /** Whether vmmig moves the chunks itself (hybrid, pre-copy, post-copy) rather than QEMU's mirror job. */
        public boolean chunkTransfer() {
            return strategy != Strategy.MIRROR;
        }
    }

    /**
     * The source's disk strategy: over {@code data} for a chunk transfer, to {@code mirrorTarget} for a
     * mirror (either may be null when the other is used).
     */
    public static SourceStrategy sourceStrategy(QmpClient qmp, Plan p, Path workDir, PeerChannel data,
                                                CompletionStage<MirrorTarget> mirrorTarget, MigrationTimeline timeline) {
        if (p.chunkTransfer()) {
            return new ChunkTransferSource(qmp, new ChunkTransferSource.Config(p.strategy(), p.migrationId(), p.diskNodes(),
                    p.chunkSize(), p.push(), EPOCH, workDir, p.timeout(), p.precopyLimits()),
                    Objects.requireNonNull(data, "a chunk transfer needs a data channel"), timeline);
        }
        if (p.diskNodes().size() != 1)
            throw new IllegalArgumentException("mirror moves one disk per migration for now; this VM has " + p.diskNodes().size()
                    + " (" + p.diskNodes() + "): use hybrid, precopy or postcopy, or --disks with one disk");
        return new MirrorSource(qmp, new MirrorSource.Config(p.migrationId(), p.diskNodes().get(0), p.mirrorMode(), p.timeout(), p.sourceTls()),
                Objects.requireNonNull(mirrorTarget, "a mirror needs its target"), timeline);
    }

    /** The source's driver around {@code disk}; {@code migrateUri} null when the memory URI comes later or from elsewhere. */
    public static SourceMigration sourceDriver(QmpClient qmp, SourceStrategy disk, Plan p, String migrateUri,
                                               MigrationTimeline timeline) {
        return new SourceMigration(qmp, disk, new SourceMigration.Options(p.migrationId(), p.strategy(), p.strategyName(),
                migrateUri, p.timeout(), p.sourceTls(), p.memory(), p.link()), timeline);
    }

    /**
     * The destination's disk strategy writing {@code disks} (in the source's order): from {@code data}
     * for a chunk transfer; for a mirror (one disk), QEMU's export on {@code mirrorListen} (TCP) or a
     * UNIX socket in {@code workDir} when null.
     */
    public static DestinationStrategy destinationStrategy(Plan p, List<ChunkTransferDestination.TargetDisk> disks, Path workDir,
                                                          PeerChannel data, InetSocketAddress mirrorListen,
                                                          MigrationTimeline timeline) throws java.io.IOException {
        return destinationStrategy(p, disks, workDir, data, mirrorListen, timeline, UnaryOperator.identity());
    }

    /** One disk. */
    public static DestinationStrategy destinationStrategy(Plan p, Path targetImage, String format, long diskSize, Path workDir,
                                                          PeerChannel data, InetSocketAddress mirrorListen,
                                                          MigrationTimeline timeline) throws java.io.IOException {
        return destinationStrategy(p, List.of(new ChunkTransferDestination.TargetDisk(targetImage, format, p.diskNodes().get(0), diskSize)),
                workDir, data, mirrorListen, timeline, UnaryOperator.identity());
    }

    /** One disk, with the chunk destination's configuration adjusted by {@code knobs}. */
    public static DestinationStrategy destinationStrategy(Plan p, Path targetImage, String format, long diskSize, Path workDir,
                                                          PeerChannel data, InetSocketAddress mirrorListen,
                                                          MigrationTimeline timeline,
                                                          UnaryOperator<ChunkTransferDestination.Config> knobs) throws java.io.IOException {
        return destinationStrategy(p, List.of(new ChunkTransferDestination.TargetDisk(targetImage, format, p.diskNodes().get(0), diskSize)),
                workDir, data, mirrorListen, timeline, knobs);
    }

    /** Same, with the chunk destination's configuration adjusted by {@code knobs} (tests: a background pull delay). */
    public static DestinationStrategy destinationStrategy(Plan p, List<ChunkTransferDestination.TargetDisk> disks, Path workDir,
                                                          PeerChannel data, InetSocketAddress mirrorListen,
                                                          MigrationTimeline timeline,
                                                          UnaryOperator<ChunkTransferDestination.Config> knobs)
            throws java.io.IOException {
        if (disks.size() != p.diskNodes().size())
            throw new IllegalArgumentException(disks.size() + " target disks for the plan's " + p.diskNodes().size());
        if (p.chunkTransfer()) {
            return new ChunkTransferDestination(knobs.apply(new ChunkTransferDestination.Config(p.migrationId(), disks,
                    p.chunkSize(), p.pullers(), workDir, p.timeout())),
                    Objects.requireNonNull(data, "a chunk transfer needs a data channel"), timeline);
        }
        if (disks.size() != 1)
            throw new IllegalArgumentException("mirror moves one disk per migration for now, not " + disks.size());
        ChunkTransferDestination.TargetDisk t = disks.get(0);
        MirrorDestination.Config c = new MirrorDestination.Config(p.migrationId(), t.image(), t.format(), t.node(), workDir, p.timeout());
        if (mirrorListen != null) c = c.withTcpListen(mirrorListen.getHostString(), mirrorListen.getPort());
        if (p.destinationTlsCreds() != null) c = c.withTls(p.destinationTlsCreds());
        return new MirrorDestination(c, timeline);
    }
}
