package io.vmmig.agent.config;

import java.nio.file.Path;
import java.util.List;

/**
 * What a destination agent lets a VM description use on this host, and how it confines its QEMU
 * (keys {@code allowed.*} and {@code qemu.runas} of the config file).
 *
 * @param kernelDirs  directories a {@code -kernel}, {@code -initrd} or {@code -bios} may be in
 * @param chardevDirs directories a chardev's socket or file (serial consoles, the user's monitors) may be in
 * @param taps        tap interface names a NIC may use; a trailing {@code *} matches any suffix ({@code vnet*})
 * @param runas       the user the destination QEMU drops to ({@code -runas}), or null to stay root
 * @param backingDirs directories, besides {@code image-dirs}, a moved top layer's backing file may be in
 *                    ({@code allowed.backing-dirs}): a peer names the backing file, and the destination opens it
 */
public record QemuPolicy(List<Path> kernelDirs, List<Path> chardevDirs, List<String> taps, String runas, List<Path> backingDirs) {
    /** Firmware and kernel directories allowed when the config names none. */
    public static final List<Path> DEFAULT_KERNEL_DIRS = List.of(Path.of("/usr/share/qemu"), Path.of("/usr/share/seabios"),
            Path.of("/usr/share/ovmf"), Path.of("/var/lib/vmmig/boot"));
    /** Chardev directory allowed when the config names none. */
    public static final List<Path> DEFAULT_CHARDEV_DIRS = List.of(Path.of("/run/vmmig/vms"));

    /** Backing files in {@code image-dirs} only. */
    public QemuPolicy(List<Path> kernelDirs, List<Path> chardevDirs, List<String> taps, String runas) {
        this(kernelDirs, chardevDirs, taps, runas, List.of());
    }

    public QemuPolicy {
        backingDirs = backingDirs == null ? List.of() : List.copyOf(backingDirs);
        kernelDirs = List.copyOf(kernelDirs);
        chardevDirs = List.copyOf(chardevDirs);
        taps = List.copyOf(taps);
    }

    public static QemuPolicy defaults() {
        return new QemuPolicy(DEFAULT_KERNEL_DIRS, DEFAULT_CHARDEV_DIRS, List.of(), null);
    }

    /** Whether {@code ifname} is one of {@link #taps}. */
    public boolean allowsTap(String ifname) {
        for (String t : taps) {
            if (t.endsWith("*") ? ifname.startsWith(t.substring(0, t.length() - 1)) : ifname.equals(t)) return true;
        }
        return false;
    }
}
