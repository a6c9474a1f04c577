package io.vmmig.agent.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vmmig.qmp.command.QmpResults.BlockDeviceInfo;
import io.vmmig.qmp.command.QmpResults.BlockInfo;
import io.vmmig.qmp.command.QmpResults.ImageInfo;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which of a VM's block devices vmmig moves, why it leaves the others alone, and how it names them. */
class SourceVmTest {
    private static BlockInfo block(String device, String qdev, boolean removable, boolean ro, String file, String drv) {
        ImageInfo img = new ImageInfo(file, drv, 1L << 20, 1L << 20, null, null);
        return new BlockInfo(device, qdev, "unknown", removable, false,
                new BlockDeviceInfo(file, "node0", ro, drv, null, 0, "off", img, List.of()), "ok");
    }

    @Test
    void localQcow2AndRawFilesMoveTheRestIsNamedWithWhy() {
        assertNull(SourceVm.whyNotMoved(block("", "vda", false, false, "/v/a.qcow2", "qcow2")));
        assertNull(SourceVm.whyNotMoved(block("", "vdb", false, false, "/v/b.raw", "raw")));
        assertEquals("removable (CD-ROM)", SourceVm.whyNotMoved(block("cd0", null, true, true, "/iso/x.iso", "raw")));
        assertEquals("read-only", SourceVm.whyNotMoved(block("", "vdc", false, true, "/v/base.qcow2", "qcow2")));
        assertEquals("not a local file: nbd://10.0.0.5:10809/disk",
                SourceVm.whyNotMoved(block("", "vdd", false, false, "nbd://10.0.0.5:10809/disk", "raw")));
        assertEquals("not a local file: json:{\"driver\":\"iscsi\"}",
                SourceVm.whyNotMoved(block("", "vde", false, false, "json:{\"driver\":\"iscsi\"}", "raw")));
        assertEquals("vmdk, vmmig moves qcow2 and raw", SourceVm.whyNotMoved(block("", "vdf", false, false, "/v/f.vmdk", "vmdk")));
    }

    @Test
    void disksAreNamedAsPeopleNameThem() {
        assertEquals("virtio0", SourceVm.deviceName(block("virtio0", "/machine/peripheral-anon/device[0]/virtio-backend", false, false,
                "/v/a.qcow2", "qcow2")), "a -drive: its id");
        assertEquals("virtio-disk1", SourceVm.deviceName(block("", "/machine/peripheral/virtio-disk1/virtio-backend", false, false,
                "/v/a.qcow2", "qcow2")), "a -device with an id");
        assertEquals("vda", SourceVm.deviceName(block("", "vda", false, false, "/v/a.qcow2", "qcow2")));
        assertEquals("node0", SourceVm.deviceName(block("", "/machine/peripheral-anon/device[3]/virtio-backend", false, false,
                "/v/a.qcow2", "qcow2")), "an anonymous device: its node");
    }

    @Test
    void aDiskIsNamedByDriveIdDeviceIdOrNode() {
        BlockInfo drive = block("virtio0", "/machine/peripheral-anon/device[0]/virtio-backend", false, false, "/v/a.qcow2", "qcow2");
        BlockInfo device = block("", "/machine/peripheral/vdb/virtio-backend", false, false, "/v/b.raw", "raw");
        assertEquals(true, SourceVm.named(drive, "virtio0"));
        assertEquals(true, SourceVm.named(device, "vdb"));
        assertEquals(true, SourceVm.named(device, "node0"), "its node name");
        assertEquals(false, SourceVm.named(device, "vda"));
    }
}
