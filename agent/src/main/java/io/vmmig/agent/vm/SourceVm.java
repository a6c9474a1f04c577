package io.vmmig.agent.vm;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryBlock;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.qmp.command.QmpCommands.QueryVersion;
import io.vmmig.qmp.command.QmpResults.BlockInfo;
import io.vmmig.qmp.command.QmpResults.StatusInfo;
import io.vmmig.qmp.command.QmpResults.VersionInfo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the source agent learns about a running VM before migrating it: QEMU's version (too old is
 * refused), the disks to move (every local qcow2/raw file disk, in QEMU's order; one disk is the
 * special case), the disks it leaves alone and why, its command line and the description of the VM
 * the destination builds its own command line from.
 */
public record SourceVm(String qemuVersion, List<VmDisk> disks, List<String> notMoved, QemuCommandLine commandLine,
                       VmDescription description) {
    /** Oldest QEMU with everything vmmig uses (block-export-add, blockdev-reopen of a file node). */
    public static final int MIN_MAJOR = 6;
    public static final int MIN_MINOR = 1;

    public SourceVm {
        disks = List.copyOf(disks);
        notMoved = List.copyOf(notMoved);
    }

    public static SourceVm inspect(QmpClient qmp, Path qmpSocket) throws AgentException {
        return inspect(qmp, qmpSocket, null);
    }

    /**
     * @param selected the disks to move (device id, drive id or node name, as {@code --disks}); null: every
     *                 local disk. A local disk not selected is not moved ("vdb (not selected)").
     */
    public static SourceVm inspect(QmpClient qmp, Path qmpSocket, List<String> selected) throws AgentException {
        VersionInfo v = qmp.call(new QueryVersion());
        String version = v.qemu().major() + "." + v.qemu().minor() + "." + v.qemu().micro();
        requireVersion("source", version, v.qemu().major(), v.qemu().minor());
        StatusInfo status = qmp.call(new QueryStatus());
        if (!"running".equals(status.status()) && !"paused".equals(status.status()))
            throw new AgentException(ErrorKind.ENVIRONMENT, "the VM at " + qmpSocket + " is '" + status.status()
                    + "', not running: nothing to live-migrate");
        List<VmDisk> moved = new ArrayList<>();
        List<String> left = new ArrayList<>();
        List<BlockInfo> blocks = qmp.call(new QueryBlock()).stream().filter(b -> b.inserted() != null).toList();   // empty drives: nothing to move
        if (selected != null) {
            for (String s : selected)
                if (blocks.stream().noneMatch(b -> named(b, s)))
                    throw new AgentException(ErrorKind.BAD_REQUEST, "--disks names " + s + ", which the VM at " + qmpSocket
                            + " does not have; its disks: " + String.join(", ", blocks.stream().map(SourceVm::deviceName).toList()));
        }
        for (BlockInfo b : blocks) {
            String name = deviceName(b);
            String why = whyNotMoved(b);
            if (why == null && selected != null && selected.stream().noneMatch(s -> named(b, s))) why = "not selected by --disks";
            if (why != null) {
                left.add(name + " (" + why + ")");
                continue;
            }
            var img = b.inserted().image();
            if (img == null) throw new AgentException(ErrorKind.ENVIRONMENT, "QEMU gave no image information for disk " + b.inserted().nodeName());
            moved.add(new VmDisk(name, b.inserted().nodeName(), img.filename(), b.inserted().drv(),
                    img.virtualSize(), img.actualSize() == null ? img.virtualSize() : img.actualSize(), b.inserted().backingFile()));
        }
        if (moved.isEmpty())
            throw new AgentException(ErrorKind.ENVIRONMENT, "the VM at " + qmpSocket + " has no local disk to move"
                    + (left.isEmpty() ? "" : "; not moved: " + String.join(", ", left)));
        QemuCommandLine commandLine = QemuCommandLine.ofProcessServing(qmpSocket);
        VmDescription description = CommandLineDescriber.describe(commandLine, moved, left);
        // the migration's disk order is the description's (the guest devices'): both agents lay the disks out in it
        List<VmDisk> ordered = new ArrayList<>();
        for (VmDescription.Disk d : description.disks())
            for (VmDisk k : moved) if (k.image().equals(d.image()) && !ordered.contains(k)) ordered.add(k);
        return new SourceVm(version, ordered, left, commandLine, description);
    }

    /**
     * How people name the disk: the drive id of a {@code -drive} ({@code virtio0}), else the guest device's
     * id ({@code vda}: QMP's qdev is {@code /machine/peripheral/vda/virtio-backend}), else its node.
     */
    static String deviceName(BlockInfo b) {
        if (b.device() != null && !b.device().isEmpty()) return b.device();
        String q = b.qdev();
        if (q != null) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^/machine/peripheral/([^/]+)(/.*)?$").matcher(q);
            if (m.matches()) return m.group(1);
            if (!q.startsWith("/")) return q;
        }
        return b.inserted() != null && b.inserted().nodeName() != null ? b.inserted().nodeName() : q;
    }

    /** Whether {@code name} names this disk: its drive id, device id (or qdev path) or node name. */
    static boolean named(BlockInfo b, String name) {
        return name.equals(deviceName(b)) || name.equals(b.device()) || name.equals(b.qdev())
                || (b.inserted() != null && name.equals(b.inserted().nodeName()));
    }

    /** Why vmmig leaves this block device alone (a CD-ROM, read-only, not a local file, not qcow2/raw), or null to move it. */
    static String whyNotMoved(BlockInfo b) {
        if (b.removable()) return "removable (CD-ROM)";
        if (b.inserted().ro()) return "read-only";
        String file = b.inserted().image() != null ? b.inserted().image().filename() : b.inserted().file();
        if (file == null || !file.startsWith("/") || file.startsWith("json:")) return "not a local file: " + file;
        String format = b.inserted().drv();
        if (!format.equals("qcow2") && !format.equals("raw")) return format + ", vmmig moves qcow2 and raw";
        return null;
    }

    /** The disks' node names at the destination (the description's; the node for -blockdev disks, the drive id for -drive), in order. */
    public List<String> destinationDiskNodes() {
        return description.disks().stream().map(VmDescription.Disk::node).toList();
    }

    /** The disks' node names in the source QEMU, in order. */
    public List<String> sourceDiskNodes() {
        return disks.stream().map(VmDisk::node).toList();
    }

    /** Host bytes all the disks' top images take. */
    public long allocatedBytes() {
        return disks.stream().mapToLong(VmDisk::allocatedBytes).sum();
    }

    /** Guest-visible bytes of all the disks. */
    public long virtualSize() {
        return disks.stream().mapToLong(VmDisk::virtualSize).sum();
    }

    /** Refuses a QEMU older than {@value #MIN_MAJOR}.{@value #MIN_MINOR}. */
    public static void requireVersion(String where, String version, int major, int minor) throws AgentException {
        if (major < MIN_MAJOR || (major == MIN_MAJOR && minor < MIN_MINOR))
            throw new AgentException(ErrorKind.ENVIRONMENT, "QEMU " + version + " at the " + where + " is too old: vmmig needs "
                    + MIN_MAJOR + "." + MIN_MINOR + " or later (block-export-add, blockdev-reopen)");
    }
}
