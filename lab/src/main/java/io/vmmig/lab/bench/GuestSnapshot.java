package io.vmmig.lab.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.qmp.EventFilter;
import io.vmmig.qmp.QmpClient;
import io.vmmig.qmp.QmpEvent;
import io.vmmig.qmp.QmpEventListener;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.QemuProcess;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * A booted, prefilled test guest running one workload, saved once (its disk image and QEMU's
 * migration stream of the paused guest), so every run of that workload starts from the same state in
 * about a second instead of booting and prefilling again. The guest's own record of what it wrote
 * lives in its RAM, so a restored guest verifies against the copied image exactly as the original would.
 */
public final class GuestSnapshot {
    private static final Duration PREFILL_TIMEOUT = Duration.ofMinutes(5);
    private static final Duration MIGRATION_TIMEOUT = Duration.ofMinutes(2);
    private static final Pattern TPUT = Pattern.compile("^TPUT ");

    private final TestGuest guest;
    private final Workload workload;
    private final int ramMib;
    private final DiskImage disk;
    /** The image the guest's disk started as (a copy of it), or null: an empty disk. */
    private final DiskImage base;
    private final Path state;
    private final Duration prepareTime;
    /** With {@code --outside-probe}: the guest has a NIC and runs on host A; null: no NIC, this namespace. */
    private final ProbedNetwork net;

    private GuestSnapshot(TestGuest guest, Workload workload, int ramMib, DiskImage disk, DiskImage base, Path state,
                          Duration prepareTime, ProbedNetwork net) {
        this.base = base;
        this.net = net;
        this.guest = guest;
        this.workload = workload;
        this.ramMib = ramMib;
        this.disk = disk;
        this.state = state;
        this.prepareTime = prepareTime;
    }

    /**
     * Boots the guest with {@code workload} on a fresh qcow2 of {@code diskBytes} in {@code dir}, waits for
     * its prefill and one throughput report of the phase after it, pauses it and saves it to {@code dir}.
     */
    public static GuestSnapshot prepare(TestGuest guest, Workload workload, int ramMib, long diskBytes, Path dir) {
        return prepare(guest, workload, ramMib, diskBytes, dir, null);
    }

    /** The same with the guest's NIC on {@code net}'s LAN, QEMU on host A (null: neither). */
    static GuestSnapshot prepare(TestGuest guest, Workload workload, int ramMib, long diskBytes, Path dir, ProbedNetwork net) {
        long t0 = System.nanoTime();
        DiskImage disk = DiskImage.create(dir.resolve("template.qcow2"), DiskImage.Format.QCOW2, diskBytes);
        return prepare(guest, workload, ramMib, disk, null, dir, net, t0);
    }

    /**
     * The same on a disk that starts as a copy of {@code base} (a qcow2, e.g. a Debian image) grown to
     * {@code diskBytes}; the workload's area must lie past what the guest has to leave alone in it.
     */
    static GuestSnapshot prepareOn(TestGuest guest, Workload workload, int ramMib, DiskImage base, long diskBytes, Path dir) {
        long t0 = System.nanoTime();
        DiskImage disk = grownCopy(base, dir.resolve("template.qcow2"), diskBytes);
        return prepare(guest, workload, ramMib, disk, base, dir, null, t0);
    }

    /** A copy of {@code base} at {@code path}, grown to {@code bytes} (qemu-img resize). */
    private static DiskImage grownCopy(DiskImage base, Path path, long bytes) {
        if (base.format() != DiskImage.Format.QCOW2) throw new IllegalArgumentException("base image must be qcow2: " + base.path());
        if (bytes < base.sizeBytes())
            throw new IllegalArgumentException("disk of " + bytes + " bytes is smaller than its base " + base.path() + " (" + base.sizeBytes() + ")");
        try {
            Files.copy(base.path(), path, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("copying " + base.path() + " to " + path, e);
        }
        if (bytes > base.sizeBytes()) io.vmmig.testkit.HostCommand.run("qemu-img", "resize", "-q", "-f", "qcow2", path.toString(), Long.toString(bytes));
        return new DiskImage(path, DiskImage.Format.QCOW2, bytes);
    }

    private static GuestSnapshot prepare(TestGuest guest, Workload workload, int ramMib, DiskImage disk, DiskImage base, Path dir,
                                         ProbedNetwork net, long t0) {
        if (workload.diskBytesNeeded() > disk.sizeBytes())
            throw new IllegalArgumentException("the workload needs " + workload.diskBytesNeeded() + " bytes of disk, " + disk.path()
                    + " has " + disk.sizeBytes());
        Path state = dir.resolve("state.migration");
        try (QemuProcess vm = place(net, QemuProcess.builder().name("bench-prep").memoryMb(ramMib).guest(guest, workload)
                .disk(disk)).start()) {
            save(vm, state);
        }
        if (!Files.isRegularFile(state))
            throw new IllegalStateException("saving the prepared guest left no state file " + state);
        return new GuestSnapshot(guest, workload, ramMib, disk, base, state, Duration.ofNanos(System.nanoTime() - t0), net);
    }

    private static QemuProcess.Builder place(ProbedNetwork net, QemuProcess.Builder b) {
        return net == null ? b : net.on(io.vmmig.testkit.net.LabHost.A, b);
    }

    private QemuProcess.Builder onHostA(LabQemus hosts, QemuProcess.Builder b) {
        return net != null || hosts == null ? place(net, b) : hosts.on(io.vmmig.testkit.net.LabHost.A, b);
    }

    /** The guest LAN the saved guest has a NIC on, or null. */
    ProbedNetwork network() {
        return net;
    }

    private static void save(QemuProcess vm, Path state) {
        try (QmpClient qmp = QmpClient.connect(vm.qmpSocket())) {
            int at = vm.console().awaitLine(Pattern.compile("^PREFILL DONE"), PREFILL_TIMEOUT).index() + 1;
            vm.console().awaitLine(TPUT, Duration.ofSeconds(10), at);
            QmpClient.join(qmp.stop());
            migrate(qmp, "migrate", "uri", "exec:cat > " + shellQuoted(state));
            QmpClient.join(qmp.quit());
            vm.awaitExit(Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            throw new IllegalStateException("preparing the bench guest failed (" + e.getMessage() + "); console: "
                    + vm.console().tailText(5) + "; QEMU stderr: " + vm.stderrTail(), e);
        }
    }

    /** How long {@link #prepare} took (boot, prefill, save). */
    public Duration prepareTime() {
        return prepareTime;
    }

    public Workload workload() {
        return workload;
    }

    /** The guest's disk size (virtual), bytes: the destination's disk is made this big. */
    public long diskBytes() {
        return disk.sizeBytes();
    }

    /**
     * A new QEMU named {@code name} running the saved guest on a copy of the saved image at {@code diskCopy}:
     * started with {@code -incoming defer}, loaded from the saved stream, running when this returns.
     */
    public QemuProcess resume(String name, Path diskCopy) throws java.io.IOException {
        return resume(name, diskCopy, null);
    }

    /** The same with QEMU on the lab's host A ({@code hosts}; null: in this namespace, or A's with a NIC under {@code --outside-probe}). */
    QemuProcess resume(String name, Path diskCopy, LabQemus hosts) throws java.io.IOException {
        Files.copy(disk.path(), diskCopy);
        DiskImage copy = new DiskImage(diskCopy, disk.format(), disk.sizeBytes());
        QemuProcess vm = onHostA(hosts, QemuProcess.builder().name(name).memoryMb(ramMib).guest(guest, workload).disk(copy)
                .incomingDefer(true)).start();
        try (QmpClient qmp = QmpClient.connect(vm.qmpSocket())) {
            migrate(qmp, "migrate-incoming", "uri", "exec:cat " + shellQuoted(state));
            // The guest was saved paused, so QEMU keeps it paused after loading it.
            QmpClient.join(qmp.cont());
            return vm;
        } catch (RuntimeException e) {
            vm.close();
            throw new IllegalStateException("restoring the saved guest " + state + " into " + name + " failed: "
                    + e.getMessage(), e);
        }
    }

    /**
     * The same guest booted anew instead of restored (pre-copy runs, see {@link BenchRun}): a new QEMU named
     * {@code name} on a fresh qcow2 at {@code diskPath} of the saved image's size (a grown copy of the base
     * image if the snapshot has one), running the same workload, returned once its prefill is done and the
     * phase after it has reported its throughput once.
     */
    public QemuProcess bootFresh(String name, Path diskPath) {
        return bootFresh(name, diskPath, null);
    }

    /** The same with QEMU on the lab's host A ({@code hosts}, as {@link #resume(String, Path, LabQemus)}). */
    QemuProcess bootFresh(String name, Path diskPath, LabQemus hosts) {
        DiskImage fresh = base != null ? grownCopy(base, diskPath, disk.sizeBytes())
                : DiskImage.create(diskPath, disk.format(), disk.sizeBytes());
        QemuProcess vm = onHostA(hosts, QemuProcess.builder().name(name).memoryMb(ramMib).guest(guest, workload).disk(fresh)).start();
        try {
            int at = vm.console().awaitLine(Pattern.compile("^PREFILL DONE"), PREFILL_TIMEOUT).index() + 1;
            vm.console().awaitLine(TPUT, Duration.ofSeconds(10), at);
            return vm;
        } catch (RuntimeException e) {
            vm.close();
            throw new IllegalStateException("booting the bench guest " + name + " failed (" + e.getMessage() + "); console: "
                    + vm.console().tailText(5), e);
        }
    }

    /** Turns on migration events, runs {@code command} and waits for the MIGRATION event "completed". */
    private static void migrate(QmpClient qmp, String command, String key, String value) {
        ObjectNode cap = qmp.mapper().createObjectNode();
        cap.putArray("capabilities").addObject().put("capability", "events").put("state", true);
        QmpClient.join(qmp.execute("migrate-set-capabilities", cap));
        try (QmpEventListener events = qmp.listen("bench-" + command, EventFilter.named("MIGRATION"))) {
            ObjectNode args = qmp.mapper().createObjectNode().put(key, value);
            QmpClient.join(qmp.execute(command, args));
            QmpEvent done = events.await(e -> {
                String s = e.dataText("status");
                return "completed".equals(s) || "failed".equals(s) || "cancelled".equals(s);
            }, MIGRATION_TIMEOUT);
            if (!"completed".equals(done.dataText("status")))
                throw new IllegalStateException(command + " " + value + " ended " + done.dataText("status"));
        }
    }

    private static String shellQuoted(Path p) {
        return "'" + p.toAbsolutePath().toString().replace("'", "'\\''") + "'";
    }
}
