/**
 * Real-QEMU test harness: {@link io.vmmig.testkit.QemuProcess} launches {@code qemu-system-x86_64}
 * with a QMP socket and a lossless, timestamped {@link io.vmmig.testkit.SerialConsole};
 * {@link io.vmmig.testkit.TestGuest} is a tiny Linux (Debian kernel + busybox initramfs) that runs an
 * integrity-checking disk {@link io.vmmig.testkit.Workload}; {@link io.vmmig.testkit.Accelerator} picks
 * KVM or TCG once per machine. Errors are {@link io.vmmig.testkit.TestKitException}.
 */
package io.vmmig.testkit;
