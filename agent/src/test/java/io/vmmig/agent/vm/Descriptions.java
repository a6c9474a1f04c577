package io.vmmig.agent.vm;

import java.util.List;
import java.util.Map;

/** Descriptions for tests. */
public final class Descriptions {
    private Descriptions() {
    }

    /** The least a destination accepts: memory, one virtio-blk disk on {@code node}. */
    public static VmDescription minimal(String node) {
        return new VmDescription(VmDescription.SCHEMA, "web1", null, null, null, null, null, new VmDescription.Memory(128L, null, null),
                null, null, List.of("nodefaults"), null, null, null, null, null, null, null,
                List.of(new VmDescription.Device("virtio-blk-pci", "vda", Map.of("drive", node))),
                List.of(new VmDescription.Disk(node, "qcow2", 64L << 20, "/var/lib/vms/web1.qcow2")));
    }
}
