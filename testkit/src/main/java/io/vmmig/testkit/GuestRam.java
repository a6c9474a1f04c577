package io.vmmig.testkit;

/**
 * The RAM size the test guests boot with: the MiB asked for plus {@value #EXTRA_KIB} KiB, so that the main RAM block
 * is <em>not</em> a multiple of 256 KiB.
 *
 * <p>Why: QEMU before 9.0 loses guest writes during a TCG memory migration when a RAM block's start and length are
 * multiples of 64 pages. {@code cpu_physical_memory_sync_dirty_bitmap()} (include/exec/ram_addr.h) then takes its
 * word-at-a-time path, which clears the migration dirty bits without {@code tlb_reset_dirty_range_all()}: a vCPU
 * whose TLB entry already writes the page on the fast path goes on writing it without marking it dirty, the page is
 * never sent again, and the destination runs with stale RAM (here: the workload's generation table one behind the
 * disk, virtio rings "not a head!", oopses). Fixed upstream by Nicholas Piggin, "physmem: Fix migration dirty bitmap
 * coherency with TCG memory access" (QEMU 9.0, March 2024); Debian 12's 7.2 does not carry it. The per-page path
 * taken for any other length resets the TLB correctly. KVM tracks dirty pages itself and is not affected.
 *
 * <p>libvirt 9.0 rounds a domain's memory to 1 MiB on x86, so libvirt domains cannot use this; their tests keep the
 * memory migration short instead.
 */
public final class GuestRam {
    /** Added to every test guest's RAM: QEMU aligns {@code -m} to 8 KiB, and 8 KiB is not a multiple of 256 KiB. */
    public static final int EXTRA_KIB = 8;

    private GuestRam() {
    }

    /** The {@code -m} value for a guest of {@code mib} MiB: {@code 256} gives {@code 262152K}. */
    public static String qemuSize(int mib) {
        return ((long) mib * 1024 + EXTRA_KIB) + "K";
    }
}
