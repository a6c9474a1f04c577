package io.vmmig.testkit;

import java.nio.file.Path;
import java.util.List;

/**
 * The test guest: a Debian kernel and a busybox initramfs whose {@code /init} runs the integrity workload on
 * {@code /dev/vda}. Built once and cached in {@code $VMMIG_CACHE/guest} (see {@link GuestBuilder}).
 * The caller attaches the disk (a {@code virtio-blk-pci} device, e.g. {@link DiskImage#qemuArgs()}).
 */
public final class TestGuest {
    /**
     * Kernel parameters every boot gets; {@code panic=1} with QEMU's {@code -no-reboot} makes a panic visible as an exit.
     * {@code no_timer_check}: on a starved TCG host the kernel's IO-APIC timer probe misses its window and the boot
     * panics ("IO-APIC + timer doesn't work"; seen in HotSetIT under load 20).
     */
    public static final String BASE_APPEND = "console=ttyS0 edd=off quiet panic=1 mitigations=off no_timer_check";

    private static TestGuest cached;

    private final Path directory;
    private final String kernelPackage;

    TestGuest(Path directory, String kernelPackage) {
        this.directory = directory;
        this.kernelPackage = kernelPackage;
    }

    /** The cached guest, building it first if needed (under a file lock, safe across JVMs). */
    public static synchronized TestGuest get() {
        if (cached == null) {
            cached = new GuestBuilder(CacheDirectory.root().resolve("guest")).getOrBuild();
        }
        return cached;
    }

    /** The directory holding {@code vmlinuz} and {@code initrd.gz}. */
    public Path directory() {
        return directory;
    }

    public Path kernel() {
        return directory.resolve("vmlinuz");
    }

    public Path initrd() {
        return directory.resolve("initrd.gz");
    }

    /** The Debian kernel package the guest was built from, e.g. {@code linux-image-6.1.0-56-amd64}. */
    public String kernelPackage() {
        return kernelPackage;
    }

    /** The full {@code -append} string for a workload. */
    public String appendLine(Workload workload) {
        return BASE_APPEND + " " + workload.kernelArgs();
    }

    /** The full {@code -append} string for a workload on a guest with {@code nic} (null: none). */
    public String appendLine(Workload workload, GuestNic nic) {
        return appendLine(workload) + (nic == null ? "" : " " + nic.kernelArgs());
    }

    /** {@code -kernel}, {@code -initrd} and {@code -append} for QEMU. */
    public List<String> qemuArgs(Workload workload) {
        return qemuArgs(workload, null);
    }

    /** The same for a guest with {@code nic} (null: none): its address on the kernel command line, its NIC devices. */
    public List<String> qemuArgs(Workload workload, GuestNic nic) {
        List<String> args = new java.util.ArrayList<>(List.of("-kernel", kernel().toString(), "-initrd", initrd().toString(),
                "-append", appendLine(workload, nic)));
        if (nic != null) args.addAll(nic.qemuArgs());
        return List.copyOf(args);
    }

    @Override
    public String toString() {
        return "TestGuest[" + kernelPackage + " in " + directory + "]";
    }
}
