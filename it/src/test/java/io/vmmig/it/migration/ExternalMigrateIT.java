package io.vmmig.it.migration;

import io.vmmig.strategy.qemu.MigrationEvent;
import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.qmp.command.QmpCommands.Migrate;
import io.vmmig.strategy.Strategy;
import io.vmmig.strategy.peer.SocketPeerChannel;
import io.vmmig.strategy.qemu.ChunkTransferDestination;
import io.vmmig.strategy.qemu.ChunkTransferSource;
import io.vmmig.strategy.qemu.MigrationReport;
import io.vmmig.strategy.qemu.MigrationTimeline;
import io.vmmig.strategy.source.SourceOptions;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.Workload;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The memory migration is issued by another party (as a manager driving QEMU would), not by vmmig:
 * vmmig only observes, hands the disk over at the pause it arranged, and the guest verifies.
 */
class ExternalMigrateIT {
    @TempDir Path dir;

    @Test
    void hybridWorksWhenSomeoneElseIssuesMigrate() throws Exception {
        Workload w = Workload.defaults().withBlocks(4096).withHotSet(0, 128).withRate(1000);
        try (TwoHosts hosts = TwoHosts.start(dir, w, 64L << 20)) {
            String id = "external";
            int chunk = 256 * 1024;
            DiskImage target = DiskImage.create(dir.resolve("dst.qcow2"), DiskImage.Format.QCOW2, 64L << 20);
            SocketPeerChannel toDest;
            SocketPeerChannel fromSource;
            try (ServerSocketChannel l = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
                toDest = SocketPeerChannel.connect(l.getLocalAddress());
                fromSource = new SocketPeerChannel(l.accept());
            }
            MigrationTimeline st = new MigrationTimeline();
            MigrationTimeline dt = new MigrationTimeline();
            try (ChunkTransferDestination destination = new ChunkTransferDestination(new ChunkTransferDestination.Config(id,
                         target.path(), "qcow2", TwoHosts.DISK_NODE, 64L << 20, chunk, 2, dir, TwoHosts.TIMEOUT), fromSource, dt);
                 ChunkTransferSource source = new ChunkTransferSource(hosts.sourceQmp(), new ChunkTransferSource.Config(
                         Strategy.HYBRID, id, java.util.List.of(TwoHosts.DISK_NODE), chunk, SourceOptions.defaults(), Duration.ofMillis(300),
                         dir, TwoHosts.TIMEOUT, ChunkTransferSource.PrecopyLimits.defaults()), toDest, st)) {
                // migrateUri null: vmmig does not issue migrate; "the manager" does, once both sides are ready.
                MigrationReport r = hosts.run(id, Strategy.HYBRID, source, destination, st, dt, null,
                        () -> hosts.sourceQmp().call(new Migrate(hosts.incomingUri(id), null, null)));
                System.out.print(r.summary());
                assertNull(st.at(MigrationEvent.MEMORY_STARTED), "vmmig did not start the memory migration itself");
                assertNotNull(st.at(MigrationEvent.PAUSED), "the hand-over ran at the pre-switchover pause");
                assertTrue(r.source().pushedChunks() > 0);
            }
            String v = hosts.verify(hosts.destination());
            assertTrue(v.startsWith("VERIFY OK 4096") && v.contains("ioerrors=0"), v);
            hosts.source().kill();
            assertTrue(hosts.source().awaitExit(Duration.ofSeconds(10)).isPresent());
            v = hosts.verify(hosts.destination());
            assertTrue(v.startsWith("VERIFY OK 4096") && v.contains("ioerrors=0"), v);
        }
    }
}
