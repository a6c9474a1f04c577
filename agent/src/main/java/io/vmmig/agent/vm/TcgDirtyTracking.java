package io.vmmig.agent.vm;

import java.util.Optional;

/**
 * Whether a source VM's memory migration can lose guest writes to a QEMU bug: before 9.0, under TCG, the dirty
 * bitmap sync of a RAM block whose start and length are multiples of 256 KiB clears the migration dirty bits without
 * resetting the TCG TLB, so pages the vCPU keeps writing on the TLB's fast path are never sent again and the
 * destination runs with stale RAM (fixed by "physmem: Fix migration dirty bitmap coherency with TCG memory access",
 * QEMU 9.0). Any RAM size in whole MiB is such a multiple; KVM is not affected. A warning, not a refusal: the
 * migration may still be right, and the operator decides.
 */
public final class TcgDirtyTracking {
    private static final long ALIGNED_KIB = 256;
    private static final long QEMU_DEFAULT_RAM_KIB = 128 * 1024;

    private TcgDirtyTracking() {
    }

    /** The warning for a source of QEMU {@code major} described by {@code d}, if it is exposed. */
    public static Optional<String> warning(int major, VmDescription d) {
        if (major >= 9) return Optional.empty();
        boolean tcg = d.accel() == null || "tcg".equals(d.accel().type());   // QEMU's default accelerator is TCG
        if (!tcg) return Optional.empty();
        long kib = d.memory() == null || d.memory().kib() == null ? QEMU_DEFAULT_RAM_KIB : d.memory().kib();
        if (kib % ALIGNED_KIB != 0) return Optional.empty();
        return Optional.of("the VM runs under TCG on QEMU " + major + ".x with " + kib + " KiB of RAM, a multiple of 256 KiB:"
                + " QEMU before 9.0 can lose guest writes to RAM during its memory migration then (stale RAM at the destination);"
                + " give -m a size that is not a multiple of 256 KiB (e.g. " + (kib + 8) + "K), or use KVM");
    }
}
