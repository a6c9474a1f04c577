package io.vmmig.lab.bench;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a run's guest says about its own integrity, beyond its {@code VERIFY} line: a kernel fault on
 * its console (oops, BUG, panic, a virtio ring gone wrong) makes the run invalid even if VERIFY passed,
 * and a {@code VERIFY FAIL} is told apart by its first bad block (see shared/notes/tcg-stale-ram.md):
 * a block on disk <b>ahead</b> of the guest's RAM table ({@code expected-gen=N found=gen-M}, M &gt; N)
 * points at guest RAM, i.e. QEMU's memory migration; anything else (behind, unreadable, torn) is the
 * disk path's.
 */
final class GuestIntegrity {
    /** Kernel messages that mean the guest itself is broken. */
    private static final Pattern KERNEL_FAULT = Pattern.compile(
            "Kernel panic|BUG: |Oops|general protection fault|is not a head!|Call Trace:|segfault at");
    private static final Pattern GENERATIONS = Pattern.compile("expected-gen=(\\d+) found=gen-(\\d+)");

    private GuestIntegrity() {
    }

    /** The first kernel-fault line among the guest's console lines, if any. */
    static Optional<String> kernelFault(List<String> console) {
        return console.stream().filter(l -> KERNEL_FAULT.matcher(l).find()).findFirst();
    }

    /** The verdict a run records: {@code verify} as the guest said it, or the kernel fault that overrides it. */
    static String verdict(String verify, List<String> console) {
        return kernelFault(console).map(f -> "GUEST FAULT: " + f.strip() + " (then " + verify + ")").orElse(verify);
    }

    /** Where a failed verdict points, for the list of excluded runs. */
    static String diagnosis(String verdict) {
        if (verdict == null) return "the guest never answered VERIFY";
        if (verdict.startsWith("GUEST FAULT")) return "the guest's kernel faulted (stale guest RAM after a long TCG pre-copy is the known"
                + " cause, see tcg-stale-ram.md)";
        Matcher m = GENERATIONS.matcher(verdict);
        if (m.find() && Long.parseLong(m.group(2)) > Long.parseLong(m.group(1)))
            return "disk ahead of the guest's RAM: stale guest RAM from QEMU's memory migration, not the disk path";
        return "disk behind or unlike the guest's RAM: the disk path's";
    }
}
