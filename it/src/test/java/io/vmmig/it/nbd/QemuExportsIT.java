package io.vmmig.it.nbd;

import static org.junit.jupiter.api.Assertions.*;

import io.vmmig.nbd.client.NbdClient;
import io.vmmig.nbd.client.NbdClientOptions;
import io.vmmig.nbd.qemu.ByteRange;
import io.vmmig.nbd.qemu.DirtyBitmapRotation;
import io.vmmig.nbd.qemu.QemuNbdServer;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpExecuteException;
import io.vmmig.qmp.command.QmpResults.BlockDeviceInfo;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.QemuProcess;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU NBD export management over QMP on a real QEMU 7.2 with a disk attached to a virtio-blk
 * device: data exports read and written with our NBD client, and dirty-bitmap rotation giving
 * exactly the ranges written by qemu-io into the running device, epoch by epoch.
 */
class QemuExportsIT {
    private static final long M = 1 << 20;
    private static final long K64 = 64 * 1024;

    @TempDir Path dir;
    private QemuProcess qemu;
    private QmpClient qmp;
    private QemuNbdServer server;

    @BeforeEach
    void start() {
        DiskImage disk = DiskImage.create(dir.resolve("disk.qcow2"), DiskImage.Format.QCOW2, 64 * M);
        // share-rw=on: a writable export beside the guest device (as on a migration destination).
        qemu = QemuProcess.builder().name("exports").memoryMb(64).extraArgs(List.of("-S",
                "-blockdev", "{\"driver\":\"file\",\"filename\":\"" + disk.path() + "\",\"node-name\":\"disk0-file\"}",
                "-blockdev", "{\"driver\":\"qcow2\",\"file\":\"disk0-file\",\"node-name\":\"disk0\"}",
                "-device", "virtio-blk-pci,drive=disk0,id=vda,share-rw=on")).start();
        qmp = QmpClient.connect(qemu.qmpSocket());
        server = QemuNbdServer.start(qmp, dir.resolve("nbd.sock"));
    }

    @AfterEach
    void stop() {
        if (qmp != null) qmp.close();
        if (qemu != null) qemu.close();
    }

    /** Writes through the guest device's backend, as a guest would. */
    private void guestWrite(String qemuIoArgs) {
        String out = qmp.call(new io.vmmig.qmp.command.QmpCommands.HumanMonitorCommand(
                "qemu-io -d vda/virtio-backend \"" + qemuIoArgs + "\"", null));
        assertFalse(out.toLowerCase().contains("error"), out);
    }

    private List<String> bitmapsOf(String node) {
        for (BlockDeviceInfo n : qmp.call(new io.vmmig.qmp.command.QmpCommands.QueryNamedBlockNodes(true))) {
            if (node.equals(n.nodeName())) {
                return n.dirtyBitmaps() == null ? List.of() : n.dirtyBitmaps().stream().map(b -> b.name()).toList();
            }
        }
        throw new AssertionError("node " + node + " not found");
    }

    @Test
    void dirtyExtentsOfEachEpochAreExactlyTheWrittenRangesAtBitmapGranularity() throws Exception {
        try (DirtyBitmapRotation rotation = new DirtyBitmapRotation(server, "disk0", "t", K64, Duration.ofSeconds(10))) {
            assertEquals(List.of("t-e0"), bitmapsOf("disk0"));
            guestWrite("write -P 0xab 1M 64k");          // exactly one granule
            guestWrite("write -P 0xcd 5243392 1024");     // 5M+512: inside one granule
            guestWrite("write -P 0xef 10452992 131072");  // granule 159 + 32K, 128K long: granules 159..161
            assertEquals(List.of(new ByteRange(M, K64), new ByteRange(5 * M, K64), new ByteRange(159 * K64, 3 * K64)),
                    rotation.rotate());
            assertEquals(List.of("t-e1"), bitmapsOf("disk0"), "the frozen bitmap is gone, the next one records");

            // The next epoch holds only what was written after the rotation.
            guestWrite("write -P 0x11 63M 64k");
            assertEquals(List.of(new ByteRange(63 * M, K64)), rotation.rotate());
            // An epoch without writes is empty.
            assertEquals(List.of(), rotation.rotate());
            assertTrue(qmp.call(new io.vmmig.qmp.command.QmpCommands.QueryBlockExports()).isEmpty(),
                    "per-epoch exports are deleted");
        }
        assertEquals(List.of(), bitmapsOf("disk0"), "close removes the recording bitmap");
    }

    @Test
    void ourClientReadsAndWritesThroughQemusOwnServer() throws Exception {
        guestWrite("write -P 0x5a 2M 1M");
        try (QemuNbdServer.Export ro = server.exportReadOnly("ro", "disk0");
             NbdClient client = NbdClient.connect(server.socket(), NbdClientOptions.of("ro"))) {
            assertEquals(64 * M, client.export().size());
            assertTrue(client.export().readOnly());
            ByteBuffer buf = ByteBuffer.allocate((int) (2 * M));
            NbdClient.await(client.read(M + M / 2, buf));
            byte[] expected = new byte[(int) (2 * M)];
            Arrays.fill(expected, (int) (M / 2), (int) (M / 2 + M), (byte) 0x5a);
            assertArrayEquals(expected, buf.array());
        }
        try (QemuNbdServer.Export rw = server.exportWritable("rw", "disk0");
             NbdClient client = NbdClient.connect(server.socket(), NbdClientOptions.of("rw"))) {
            byte[] data = new byte[(int) K64];
            Arrays.fill(data, (byte) 0x77);
            NbdClient.await(client.write(30 * M, ByteBuffer.wrap(data), true));
            NbdClient.await(client.flush());
        }
        // The guest's device sees what our client wrote through QEMU's export.
        String out = qmp.call(new io.vmmig.qmp.command.QmpCommands.HumanMonitorCommand(
                "qemu-io -d vda/virtio-backend \"read -P 0x77 30M 64k\"", null));
        assertFalse(out.contains("Pattern verification failed"), out);
        assertTrue(qemu.stdoutTail().contains("read 65536/65536 bytes") || out.contains("read 65536/65536 bytes"),
                "qemu-io read back: " + qemu.stdoutTail());
        assertFalse(qemu.stdoutTail().contains("Pattern verification failed"), qemu.stdoutTail());
    }

    @Test
    void anEnabledBitmapCannotBeExportedReadOnlyAndTheErrorSaysSo() {
        qmp.call(new io.vmmig.qmp.command.QmpCommands.BlockDirtyBitmapAdd("disk0", "live", K64, false, null));
        QmpExecuteException e = assertThrows(QmpExecuteException.class, () -> server.exportBitmap("bad", "disk0", "live"));
        assertTrue(e.getMessage().contains("live"), e.getMessage());
        qmp.call(new io.vmmig.qmp.command.QmpCommands.BlockDirtyBitmapRemove("disk0", "live"));
    }
}
