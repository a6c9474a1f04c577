package io.vmmig.testkit;

import java.util.List;

/** How QEMU runs the guest's CPU. {@link #detect()} picks the one a Linux guest really boots under here. */
public enum Accelerator {
    /** Hardware virtualization; {@code -cpu max} because {@code -cpu host} aborts on nested "kvm-pvm" hosts. */
    KVM(List.of("-accel", "kvm", "-cpu", "max")),
    /** Software emulation (one vCPU: multi-threaded TCG would not help). */
    TCG(List.of("-accel", "tcg", "-cpu", "max"));

    private final List<String> qemuArgs;

    Accelerator(List<String> qemuArgs) {
        this.qemuArgs = qemuArgs;
    }

    /** The QEMU arguments selecting this accelerator and a CPU model. */
    public List<String> qemuArgs() {
        return qemuArgs;
    }

    /** The accelerator for Linux guests on this machine: env {@code VMMIG_ACCEL}, else a cached or fresh probe. */
    public static Accelerator detect() {
        return AcceleratorProbe.verdict().accelerator();
    }
}
