package io.vmmig.it.agent;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.agent.vm.VmDescription;
import java.util.List;
import java.util.Map;

/** VM descriptions a test-side source sends in its PREPAREs. */
final class Descriptions {
    private Descriptions() {
    }

    /** What a destination accepts: 128 MiB, one virtio-blk device on the qcow2 disk {@code node}. */
    static VmDescription minimal(String node) {
        return new VmDescription(VmDescription.SCHEMA, "it", null, null, null, null, null, new VmDescription.Memory(128L, null, null),
                null, null, List.of("nodefaults"), null, null, null, null, null, null, null,
                List.of(new VmDescription.Device("virtio-blk-pci", "vda", Map.of("drive", node))),
                List.of(new VmDescription.Disk(node, "qcow2", 64L << 20, "/var/lib/vms/it.qcow2")));
    }

    /** The same as an editable JSON tree. */
    static ObjectNode minimalJson(String node) {
        return (ObjectNode) minimal(node).toJson();
    }
}
