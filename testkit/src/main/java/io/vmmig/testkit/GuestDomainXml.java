package io.vmmig.testkit;

import java.nio.file.Path;
import java.util.List;

/**
 * The libvirt domain XML of the writing test guest ({@link TestGuest}, TCG, direct kernel boot), its file
 * disks as virtio devices and its serial console on a UNIX socket the caller listens on: the one definition
 * the libvirt ITs and the bench's libvirt columns define their domains from.
 */
public final class GuestDomainXml {
    /** One file disk: {@code format} qcow2 or raw, at {@code file}, seen by the guest as {@code target} (vda, vdb). */
    public record Disk(String format, String file, String target) {
    }

    private GuestDomainXml() {
    }

    public static String of(String name, int ramMib, Workload workload, Path serial, List<Disk> disks) {
        TestGuest g = TestGuest.get();
        StringBuilder x = new StringBuilder("<domain type='qemu'><name>").append(name).append("</name><memory unit='MiB'>")
                .append(ramMib).append("</memory><vcpu>1</vcpu>")
                .append("<os><type arch='x86_64' machine='pc'>hvm</type><kernel>").append(g.kernel()).append("</kernel><initrd>")
                .append(g.initrd()).append("</initrd><cmdline>").append(g.appendLine(workload)).append("</cmdline></os>")
                .append("<cpu mode='maximum' check='none'/><on_reboot>destroy</on_reboot><devices>")
                .append("<emulator>/usr/bin/qemu-system-x86_64</emulator>");
        for (Disk d : disks)
            x.append("<disk type='file' device='disk'><driver name='qemu' type='").append(d.format())
                    .append("' cache='none'/><source file='").append(d.file()).append("'/>")
                    .append("<target dev='").append(d.target()).append("' bus='virtio'/></disk>");
        return x.append("<serial type='unix'><source mode='connect' path='").append(serial).append("'/><target port='0'/></serial>")
                .append("</devices></domain>").toString();
    }
}
