package io.vmmig.it.migration;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.HostCommand;
import io.vmmig.testkit.Workload;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A qcow2 source disk migrated by hybrid into a raw destination image, which stays sparse. */
class RawTargetIT {
    private static final long DISK = 128L << 20;

    @TempDir Path dir;

    @Test
    void hybridIntoARawTarget() throws Exception {
        Workload w = Workload.defaults().withBlocks(4096).withHotSet(0, 128).withRate(1000);   // 16 MiB area
        try (TwoHosts hosts = TwoHosts.start(dir, w, DISK)) {
            Path[] target = new Path[1];
            hosts.destinationImages(p -> {
                target[0] = p.resolveSibling(p.getFileName() + ".raw");
                return DiskImage.create(target[0], DiskImage.Format.RAW, DISK);
            });
            MigrationReport r = hosts.migrate(Strategy.HYBRID, 256 * 1024, TwoHosts.defaultPush(),
                    ChunkTransferSource.PrecopyLimits.defaults(), () -> { });
            System.out.print(r.summary());
            DestinationChecks.guestIntactWithoutSource(hosts, 4096);
            long allocated = Long.parseLong(HostCommand.run("stat", "-c", "%b", target[0].toString()).trim()) * 512;
            assertTrue(allocated < 32L << 20, "the raw target holds the guest's data, not the whole disk: "
                    + allocated + " bytes allocated of " + DISK);
        }
    }
}
