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
import java.util.List;

/**
 * What the source agent learns about a running VM before migrating it: QEMU's version (too old is
 * refused), the one disk to move, its command line and the description of the VM the destination
 * builds its own command line from.
 */
public record SourceVm(String qemuVersion, VmDisk disk, QemuCommandLine commandLine, VmDescription description) {
    /** Oldest QEMU with everything vmmig uses (block-export-add, blockdev-reopen of a file node). */
    public static final int MIN_MAJOR = 6;
    public static final int MIN_MINOR = 1;

    public static SourceVm inspect(QmpClient qmp, Path qmpSocket) throws AgentException {
        VersionInfo v = qmp.call(new QueryVersion());
        String version = v.qemu().major() + "." + v.qemu().minor() + "." + v.qemu().micro();
        requireVersion("source", version, v.qemu().major(), v.qemu().minor());
        StatusInfo status = qmp.call(new QueryStatus());
        if (!"running".equals(status.status()) && !"paused".equals(status.status()))
            throw new AgentException(ErrorKind.ENVIRONMENT, "the VM at " + qmpSocket + " is '" + status.status()
                    + "', not running: nothing to live-migrate");
        List<BlockInfo> disks = qmp.call(new QueryBlock()).stream()
                .filter(b -> b.inserted() != null && !b.removable()).toList();
        if (disks.isEmpty()) throw new AgentException(ErrorKind.ENVIRONMENT, "the VM at " + qmpSocket + " has no disk");
        if (disks.size() > 1)
            throw new AgentException(ErrorKind.ENVIRONMENT, "the VM at " + qmpSocket + " has " + disks.size() + " disks ("
                    + disks.stream().map(b -> b.inserted().nodeName()).toList() + "); vmmig moves one disk per VM for now");
        BlockInfo b = disks.get(0);
        var img = b.inserted().image();
        if (img == null) throw new AgentException(ErrorKind.ENVIRONMENT, "QEMU gave no image information for disk " + b.inserted().nodeName());
        String format = b.inserted().drv();
        if (!format.equals("qcow2") && !format.equals("raw"))
            throw new AgentException(ErrorKind.ENVIRONMENT, "disk " + b.inserted().nodeName() + " is " + format
                    + "; vmmig migrates qcow2 and raw images");
        VmDisk disk = new VmDisk(b.qdev() != null ? b.qdev() : b.device(), b.inserted().nodeName(), img.filename(), format,
                img.virtualSize(), img.actualSize() == null ? img.virtualSize() : img.actualSize(), b.inserted().backingFile());
        QemuCommandLine commandLine = QemuCommandLine.ofProcessServing(qmpSocket);
        return new SourceVm(version, disk, commandLine, CommandLineDescriber.describe(commandLine, disk));
    }

    /** The disk's node name at the destination (the description's; the node for -blockdev disks, the drive id for -drive). */
    public String destinationDiskNode() {
        return description.disks().get(0).node();
    }

    /** Refuses a QEMU older than {@value #MIN_MAJOR}.{@value #MIN_MINOR}. */
    public static void requireVersion(String where, String version, int major, int minor) throws AgentException {
        if (major < MIN_MAJOR || (major == MIN_MAJOR && minor < MIN_MINOR))
            throw new AgentException(ErrorKind.ENVIRONMENT, "QEMU " + version + " at the " + where + " is too old: vmmig needs "
                    + MIN_MAJOR + "." + MIN_MINOR + " or later (block-export-add, blockdev-reopen)");
    }
}
