package io.vmmig.testkit;

/**
 * The RAM size the test guests boot with: the MiB asked for plus {@value #EXTRA_KIB} KiB, so that the main RAM block
 * is <em>not</em> a multiple of 256 KiB. QEMU before 9.0 under TCG loses guest writes during a memory migration of
 * such a block (the destination then runs with stale RAM); the mechanism and the upstream fix are written down in
 * the agent's {@code io.vmmig.agent.vm.TcgDirtyTracking}, the A/B that showed it in the README ("Faults").
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
