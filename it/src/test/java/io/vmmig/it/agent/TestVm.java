package io.vmmig.it.agent;

import io.vmmig.it.migration.QemuBlockState;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.command.QmpCommands.QueryStatus;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.SerialConsole;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A source VM for agent tests: the test guest writing on a qcow2, and the console that follows it to
 * the destination (the destination QEMU connects to the same serial socket).
 */
final class TestVm implements AutoCloseable {
    final String name;
    final QemuProcess qemu;
    final SerialConsole destinationConsole;
    /** The source's disk image and the guest's workload: for telling where a VERIFY FAIL's bytes went wrong. */
    private final Path sourceImage;
    private final Workload workload;

    private TestVm(String name, QemuProcess qemu, SerialConsole destinationConsole, Path sourceImage, Workload workload) {
        this.name = name;
        this.qemu = qemu;
        this.destinationConsole = destinationConsole;
        this.sourceImage = sourceImage;
        this.workload = workload;
    }

    /** Boots {@code name} with a {@code areaMib} MiB prefill and a 4 MiB hot set written at {@code rate}/s. */
    static TestVm boot(Path dir, String name, int areaMib, int rate) throws Exception {
        return boot(dir, name, workload(areaMib, rate), QemuProcess.DEFAULT_BINARY, DiskImage::qemuArgs);
    }

    /** Same, with another QEMU binary (e.g. a wrapper that enters a network namespace). */
    static TestVm boot(Path dir, String name, int areaMib, int rate, String binary) throws Exception {
        return boot(dir, name, workload(areaMib, rate), binary, DiskImage::qemuArgs);
    }

    /** The same with the disk attached by {@code attach} (e.g. a legacy {@code -drive}, a JSON {@code -device}). */
    static TestVm boot(Path dir, String name, int areaMib, int rate, Function<DiskImage, List<String>> attach) throws Exception {
        return boot(dir, name, workload(areaMib, rate), QemuProcess.DEFAULT_BINARY, attach);
    }

    /** The workload of {@link #boot(Path, String, int, int)}. */
    static Workload workload(int areaMib, int rate) {
        return Workload.defaults().withBlocks(areaMib * 256L).withHotSet(0, 1024).withRate(rate);
    }

    /** Boots {@code name} with workload {@code w}, its disk attached by {@code attach} (which may add more disks). */
    static TestVm boot(Path dir, String name, Workload w, Function<DiskImage, List<String>> attach) throws Exception {
        return boot(dir, name, w, QemuProcess.DEFAULT_BINARY, attach);
    }

    /** Boots {@code name} with workload {@code w}, QEMU started as {@code binary}. */
    static TestVm boot(Path dir, String name, Workload w, String binary) throws Exception {
        return boot(dir, name, w, binary, DiskImage::qemuArgs);
    }

    private static TestVm boot(Path dir, String name, Workload w, String binary, Function<DiskImage, List<String>> attach)
            throws Exception {
        Path vmDir = Files.createDirectories(dir.resolve(name));
        return boot(dir, name, DiskImage.create(vmDir.resolve(name + ".qcow2"), DiskImage.Format.QCOW2, 64L << 20), w,
                binary, attach);
    }

    /** The same on a disk of the test's making (e.g. an overlay), named {@code name.qcow2} in {@code dir/name}. */
    static TestVm boot(Path dir, String name, DiskImage disk, int areaMib, int rate) throws Exception {
        return boot(dir, name, disk, areaMib, rate, QemuProcess.DEFAULT_BINARY);
    }

    /** The same with another QEMU binary (e.g. a wrapper that starts it in a network namespace). */
    static TestVm boot(Path dir, String name, DiskImage disk, int areaMib, int rate, String qemuBinary) throws Exception {
        return boot(dir, name, disk, workload(areaMib, rate), qemuBinary, DiskImage::qemuArgs);
    }

    private static TestVm boot(Path dir, String name, DiskImage disk, Workload w, String binary,
                               Function<DiskImage, List<String>> attach) throws Exception {
        Path vmDir = Files.createDirectories(dir.resolve(name));
        QemuProcess q = QemuProcess.builder().name(name).binary(binary).memoryMb(256).guest(TestGuest.get(), w)
                .extraArgs(attach.apply(disk)).start();
        try {
            q.console().awaitLine(Pattern.compile("^PREFILL DONE"), Duration.ofMinutes(3));
            return new TestVm(name, q, q.console().successor(name + "-dst", vmDir.resolve("dst-console.log")), disk.path(), w);
        } catch (RuntimeException e) {
            q.close();
            throw e;
        }
    }

    Path qmpSocket() {
        return qemu.qmpSocket();
    }

    /** The source's block state and run state (the test holds QMP only for this: QEMU serves one client). */
    Snapshot snapshot() {
        try (QmpClient q = QmpClient.connect(qemu.qmpSocket())) {
            return new Snapshot(q.call(new QueryStatus()).status(), QemuBlockState.of(q));
        }
    }

    record Snapshot(String status, QemuBlockState block) {}

    /** Asks the guest at the destination to read back its disk; returns the verdict line. */
    String verifyAtDestination() {
        int mark = destinationConsole.lineCount();
        destinationConsole.send("verify");
        return destinationConsole.awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofMinutes(2), mark).text();
    }

    /**
     * For a failed VERIFY at the destination: the block headers at the failing block (and every misplaced
     * one) on {@code destinationImage} and on the source's image, side by side ({@link BlockHeaders}).
     */
    String diskDiagnosis(String verdict, Path destinationImage) {
        if (verdict.startsWith("VERIFY OK")) return "";
        return BlockHeaders.diagnose(verdict, destinationImage, sourceImage, sourceImage.resolveSibling("diagnosis"),
                workload.blocks(), workload.blockSize());
    }

    /** The last {@code n} lines of the guest's console at the destination (kernel messages included), for failure messages. */
    String destinationConsoleTail(int n) {
        List<io.vmmig.testkit.ConsoleLine> lines = destinationConsole.lines();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()).stream().map(io.vmmig.testkit.ConsoleLine::text)
                .toList());
    }

    /**
     * Asks the guest at the destination to read back its disks (a workload with a second disk); returns
     * the per-disk lines ({@code VERIFY DISK /dev/vda OK 4096 failures=0}, ...) and the verdict line last.
     */
    List<String> verifyDisksAtDestination() {
        int mark = destinationConsole.lineCount();
        destinationConsole.send("verify");
        var verdict = destinationConsole.awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofMinutes(2), mark);
        List<String> out = new java.util.ArrayList<>();
        for (var l : destinationConsole.lines())
            if (l.index() >= mark && l.index() <= verdict.index() && l.text().startsWith("VERIFY DISK ")) out.add(l.text());
        out.add(verdict.text());
        return out;
    }

    /** Same at the source (a cancelled migration). */
    String verifyAtSource() {
        int mark = qemu.console().lineCount();
        qemu.console().send("verify");
        return qemu.console().awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofMinutes(2), mark).text();
    }

    @Override
    public void close() {
        destinationConsole.close();
        qemu.close();
    }
}
