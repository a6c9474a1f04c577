package io.vmmig.it.migration;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.Workload;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest on a qcow2 overlay over a base image that both hosts have: only the overlay's data moves
 * (the base's 64 MiB never cross), the destination ends up as an overlay over the same base
 * holding just the guest's data, the guest verifies, and the base's bytes read through the
 * destination's chain are intact.
 */
class OverlayMigrationIT {
    private static final int CHUNK = 256 * 1024;
    private static final long BLOCKS = 2048;                 // 8 MiB written into the overlay
    private static final long AREA = BLOCKS * 4096;
    private static final long BASE_DATA_OFFSET = 16L << 20;
    private static final long BASE_DATA = 64L << 20;         // only in the base image

    @TempDir Path dir;

    @Test
    void onlyTheTopLayerMoves() throws Exception {
        DiskImage base = DiskImage.create(dir.resolve("base.qcow2"), DiskImage.Format.QCOW2, 128L << 20);
        QemuImg.fill(base, 0x5a, BASE_DATA_OFFSET, BASE_DATA);
        DiskImage srcOverlay = QemuImg.overlay(dir.resolve("src-overlay.qcow2"), base);
        Workload w = Workload.defaults().withBlocks(BLOCKS).withHotSet(0, 256).withRate(2000);
        AtomicReference<DiskImage> dstOverlay = new AtomicReference<>();
        try (TwoHosts hosts = TwoHosts.start(dir, w, srcOverlay)) {
            hosts.destinationImages(p -> {
                dstOverlay.set(QemuImg.overlay(p, base));
                return dstOverlay.get();
            });
            MigrationReport r = hosts.migrate(Strategy.HYBRID, CHUNK, TwoHosts.defaultPush(),
                    ChunkTransferSource.PrecopyLimits.defaults(), () -> { });
            System.out.print(r.summary());

            assertEquals((128L << 20) - AREA, r.source().unallocatedBytes(),
                    "everything but the overlay's data counts as not in the layer moved: " + r.source());
            assertTrue(r.diskBytesMoved() >= AREA, "the overlay's data moved: " + r.diskBytesMoved());
            assertTrue(r.diskBytesMoved() < AREA + (8L << 20),
                    "only the top layer (plus hot rewrites) moved, not the base: " + r.diskBytesMoved());

            DestinationChecks.guestIntactWithoutSource(hosts, BLOCKS);

            hosts.destination().kill();
            assertTrue(hosts.destination().awaitExit(Duration.ofSeconds(10)).isPresent());
            // The base's bytes, read through the destination's chain (qemu-io exits non-zero on a mismatch).
            QemuImg.run(List.of("qemu-io", "-r", "-f", "qcow2", "-c",
                    "read -q -P 0x5a " + BASE_DATA_OFFSET + " " + BASE_DATA, dstOverlay.get().path().toString()));
            // The destination is still an overlay holding only the guest's area in its own layer.
            long top = topLayerBytes(dstOverlay.get());
            assertTrue(top >= AREA && top <= AREA + CHUNK, "destination overlay's own data: " + top + " bytes");
        }
    }

    private static long topLayerBytes(DiskImage image) throws Exception {
        JsonNode map = new ObjectMapper().readTree(QemuImg.run(List.of("qemu-img", "map", "--output=json",
                image.path().toString())));
        long n = 0;
        for (JsonNode e : map) {
            if (e.path("depth").asInt() == 0 && e.path("data").asBoolean()) n += e.path("length").asLong();
        }
        return n;
    }
}
