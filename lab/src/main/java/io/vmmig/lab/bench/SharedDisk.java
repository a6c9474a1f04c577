package io.vmmig.lab.bench;

import io.vmmig.qmp.QmpClient;
import io.vmmig.strategy.qemu.DestinationReport;
import io.vmmig.strategy.qemu.DestinationStrategy;
import io.vmmig.strategy.qemu.SourceReport;
import io.vmmig.strategy.qemu.SourceStrategy;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The bench's reference: QEMU's memory migration alone, with nothing done for the disk, because both QEMUs
 * open the same image (the lab's two hosts are network namespaces on one file system: shared storage). Its
 * downtime and guest pause are "QEMU's own" on the link, measured in the same run as the strategies that move
 * the disk. The destination opens the image inactive ({@code -incoming}) and takes it over when the source
 * QEMU inactivates it at the switchover, as with any shared-storage migration.
 */
final class SharedDisk {
    private SharedDisk() {
    }

    /** The source side: nothing to set up, move or hand over. */
    static SourceStrategy source() {
        return new SourceStrategy() {
            @Override
            public void start() {
            }

            @Override
            public CompletableFuture<Void> readyForMemory() {
                return CompletableFuture.completedFuture(null);
            }

            @Override
            public void atPause() {
            }

            @Override
            public CompletableFuture<Void> finished() {
                return CompletableFuture.completedFuture(null);
            }

            @Override
            public void cancel(String reason) {
            }

            @Override
            public void release() {
            }

            @Override
            public SourceReport report() {
                return new SourceReport(0, 0, 0, 0, 0, 0, 0, 0, 0, false, 0, null);
            }
        };
    }

    /** The destination side: the source's image itself, qcow2, as node {@code node}. */
    static DestinationStrategy destination(Path image, String node) {
        return new DestinationStrategy() {
            @Override
            public List<String> qemuBlockdevArgs() {
                // the image's own -blockdev pair (file and qcow2 nodes); the bench adds the guest device
                return new io.vmmig.testkit.DiskImage(image, io.vmmig.testkit.DiskImage.Format.QCOW2, 0).qemuArgs(node, "vda").subList(0, 4);
            }

            @Override
            public void attach(QmpClient qmp) {
            }

            @Override
            public CompletableFuture<Void> complete() {
                return CompletableFuture.completedFuture(null);
            }

            @Override
            public void finish() {
            }

            @Override
            public DestinationReport report() {
                return new DestinationReport(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
            }

            @Override
            public void close() {
            }
        };
    }
}
