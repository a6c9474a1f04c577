package io.vmmig.lab.bench;

import io.vmmig.strategy.dedup.FingerprintIndex;
import io.vmmig.strategy.dedup.LocalChunkMatcher;
import io.vmmig.strategy.qemu.SourceReport;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import io.vmmig.testkit.net.NetworkLab;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code vmmig bench --dedup}: neighbourhood dedup (issue 15, seed 003) with a running guest over a shaped
 * link. The guest's disk is the Debian image {@code vm.qcow2} ({@link DebianImages}) grown by a tail where
 * the test guest's workload writes (past the ext4, which it leaves alone); the destination's
 * {@link FingerprintIndex} holds either nothing or {@code neighbour.qcow2}. Each strategy runs in the three
 * {@link DedupCell}s on the same saved guest and link; every run ends with the guest's VERIFY and a
 * byte-for-byte comparison of the destination's image with the source's ({@code qemu-img compare}).
 */
final class DedupBench {
    /** Dedup piece and index chunk: the images' qcow2 cluster size (64 KiB), so their clusters are whole chunks. */
    static final int PIECE = 64 * 1024;

    private final DebianImages images;
    private final List<BenchStrategy> strategies;
    private final List<LinkProfile> links;
    private final int repeats;
    private final BenchSizes sizes;
    private final Path folder;
    private final String command;

    DedupBench(DebianImages images, List<BenchStrategy> strategies, List<LinkProfile> links, int repeats, BenchSizes sizes,
               Path folder, String command) {
        for (BenchStrategy s : strategies)
            if (s.mirrorMode() != null || !s.movesDisk()) throw new IllegalArgumentException("--dedup: " + s.label() + " does not send chunks (hybrid, precopy, postcopy do)");
        this.images = images;
        this.strategies = List.copyOf(strategies);
        this.links = List.copyOf(links);
        this.repeats = repeats;
        this.sizes = sizes;
        this.folder = folder;
        this.command = command;
    }

    /** One run of a cell: the bench's outcome, and the load when it ended. */
    record Run(DedupCell cell, BenchRun.Outcome outcome, String load) {
        SourceReport source() {
            return outcome.report() == null ? null : outcome.report().source();
        }

        /** Disk bytes that crossed the link: chunk data after zero elision (and compression) plus fingerprints. */
        long diskWireBytes() {
            SourceReport s = source();
            return s == null ? -1 : s.chunkWireBytes() + s.fingerprintWireBytes();
        }
    }

    /** Runs every cell; true if every run verified and its images compared identical. */
    boolean run(TestGuest guest) throws Exception {
        long t0 = System.nanoTime();
        Instant started = Instant.now();
        Files.createDirectories(folder);
        Path work = Files.createTempDirectory("vmmig-bench-dedup-");
        List<Run> runs = new ArrayList<>();
        try {
            // the neighbour in a directory of its own: the images' directory also holds vm.qcow2, the disk being moved
            Path neighbourDir = Files.createDirectories(work.resolve("neighbours"));
            Files.copy(images.neighbour().path(), neighbourDir.resolve("neighbour.qcow2"));
            Path emptyDir = Files.createDirectories(work.resolve("no-neighbours"));
            long ti = System.nanoTime();
            try (FingerprintIndex withNeighbour = FingerprintIndex.open(work.resolve("index-neighbour"), PIECE, List.of(neighbourDir), Duration.ZERO);
                 FingerprintIndex empty = FingerprintIndex.open(work.resolve("index-empty"), PIECE, List.of(emptyDir), Duration.ZERO)) {
                FingerprintIndex.RefreshResult r = withNeighbour.refresh();
                empty.refresh();
                FingerprintIndex.Stats st = withNeighbour.stats();
                String indexLine = String.format("destination index of neighbour.qcow2: %d chunks of %d KiB read, %d entries, %.1f B/entry, built in %.1f s",
                        r.chunksRead(), PIECE / 1024, st.liveEntries(), st.bytesPerEntry(), (System.nanoTime() - ti) / 1e9);
                System.out.printf("[%5.0fs] %s; load %s%n", (System.nanoTime() - t0) / 1e9, indexLine, BenchRun.loadAverage());
                Map<DedupCell, LocalChunkMatcher> matchers = new EnumMap<>(DedupCell.class);
                matchers.put(DedupCell.NO_NEIGHBOUR, new LocalChunkMatcher(empty));
                matchers.put(DedupCell.NEIGHBOUR, new LocalChunkMatcher(withNeighbour));

                long firstBlock = images.vm().sizeBytes() / BenchWorkload.BLOCK;
                Workload workload = BenchWorkload.IDLE.workload(sizes).withFirstBlock(firstBlock);
                long diskBytes = images.vm().sizeBytes() + 2 * sizes.areaBytes();
                GuestSnapshot snapshot = GuestSnapshot.prepareOn(guest, workload, sizes.ramMib(), images.vm(), diskBytes,
                        Files.createDirectories(work.resolve("snapshot")));
                System.out.printf("[%5.0fs] guest on a copy of %s (+%d MiB tail, the workload's area from block %d) booted, prefilled and saved"
                        + " in %.1f s%n", (System.nanoTime() - t0) / 1e9, images.vm().path(), 2 * sizes.areaMib(), firstBlock,
                        snapshot.prepareTime().toMillis() / 1000.0);
                int port = 7300;
                for (LinkProfile link : links) {
                    Path linkDir = Files.createDirectories(work.resolve(link.label()));
                    try (NetworkLab lab = link.openLab();
                         CrossLinks cross = CrossLinks.open(lab, linkDir, port, link, "mirror-" + BenchRun.ID + ".sock")) {
                        port += 10;
                        System.out.printf("[%5.0fs] link %s; load %s%n", (System.nanoTime() - t0) / 1e9, link.describe(), BenchRun.loadAverage());
                        BenchRun runner = new BenchRun(lab, cross, guest, Map.of(BenchWorkload.IDLE, snapshot), sizes, work)
                                .withImageComparison(true);
                        for (int rep = 1; rep <= repeats; rep++) {
                            for (BenchStrategy s : strategies) {
                                for (DedupCell cell : DedupCell.values()) {
                                    BenchRun.Outcome o = runner.withDedup(matchers.get(cell)).outcome(s, BenchWorkload.IDLE, link, rep);
                                    Run run = new Run(cell, o, BenchRun.loadAverage());
                                    runs.add(run);
                                    System.out.printf("[%5.0fs] %s / %s / dedup %s #%d: %s%n", (System.nanoTime() - t0) / 1e9, link.label(),
                                            s.label(), cell.label(), rep, DedupTable.oneLine(run));
                                    write(runs, indexLine, started, t0);
                                }
                            }
                        }
                    }
                }
                String md = write(runs, indexLine, started, t0);
                System.out.println();
                System.out.print(md);
            }
        } finally {
            try (Stream<Path> all = Files.walk(work)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return runs.stream().allMatch(r -> r.outcome().intact());
    }

    private String write(List<Run> runs, String indexLine, Instant started, long t0) throws IOException {
        DedupTable table = new DedupTable(runs);
        String md = "# vmmig bench --dedup\n\n" + String.format("`%s`, started %s, %d runs, wall time %.0f s.%n%n", command, started, runs.size(),
                (System.nanoTime() - t0) / 1e9)
                + String.format("""
                        Guest: the TCG test guest (%d MiB RAM) on a copy of `%s` (Debian bookworm, %.0f MiB allocated of %d MiB), grown by \
                        %d MiB; its workload (idle after a prefill of %d MiB) writes only past the ext4, so the file system crosses as \
                        the image holds it. Destination index: %s. Dedup pieces and index chunks %d KiB, engine chunks %d KiB, \
                        hybrid threshold %d.

                        Links: %s.

                        Columns: total = start to the destination holding the whole disk; disk on the wire = chunk data that \
                        crossed (after zero elision) plus the fingerprints (FINGERPRINTS frames), as the source engine counts it; \
                        copied locally = chunk bytes the destination read from its own images because a fingerprint matched \
                        (SHA-256 verified); link to dest = all bytes on the link towards the destination (memory, disk, headers); \
                        vs off = this cell's figure / the off cell's (same strategy, link and repeat); image check = \
                        `qemu-img compare` of the destination's image with the source's after both QEMUs quit.

                        """, sizes.ramMib(), images.vm().path(), DebianImages.allocatedBytes(images.vm()) / 1048576.0,
                images.vm().sizeBytes() >> 20, 2 * sizes.areaMib(), sizes.areaMib(), indexLine, PIECE / 1024, BenchRun.CHUNK / 1024,
                BenchRun.THRESHOLD, String.join("; ", links.stream().map(LinkProfile::describe).toList()))
                + table.markdown();
        Files.writeString(folder.resolve("results.md"), md);
        Files.writeString(folder.resolve("results.csv"), table.csv());
        return md;
    }
}
