package io.vmmig.testkit;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running {@code qemu-system-x86_64} in a private directory ({@link #dir()}) holding its QMP socket,
 * serial socket, {@code console.log}, {@code qemu.stdout} and {@code qemu.stderr}. {@link #close()} kills it
 * and deletes the directory; a JVM shutdown hook and a stale-directory sweep at the next start catch what
 * a test forgot or a killed JVM left behind.
 */
public final class QemuProcess implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(QemuProcess.class);
    /** The QEMU binary used unless {@link Builder#binary(String)} says otherwise. */
    public static final String DEFAULT_BINARY = "qemu-system-x86_64";
    private static final Set<QemuProcess> LIVE = ConcurrentHashMap.newKeySet();
    private static final AtomicBoolean HOOK = new AtomicBoolean();
    private static final int STDERR_TAIL = 3000;

    private final String name;
    private final HarnessDirectory dir;
    private final Process process;
    private final SerialConsole console;
    private final List<String> command;
    private final Accelerator accelerator;
    private final AtomicBoolean closed = new AtomicBoolean();

    private QemuProcess(String name, HarnessDirectory dir, Process process, SerialConsole console,
                        List<String> command, Accelerator accelerator) {
        this.name = name;
        this.dir = dir;
        this.process = process;
        this.console = console;
        this.command = command;
        this.accelerator = accelerator;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The name given to the builder (also QEMU's {@code -name} and the console's source). */
    public String name() {
        return name;
    }

    /** The QMP UNIX socket (single client); QEMU answered a command on it before {@link Builder#start()} returned. */
    public Path qmpSocket() {
        return dir.path().resolve("qmp.sock");
    }

    /** This process's private directory. */
    public Path dir() {
        return dir.path();
    }

    public long pid() {
        return process.pid();
    }

    /** The guest's serial port (ttyS0). */
    public SerialConsole console() {
        return console;
    }

    /** The accelerator QEMU was started with. */
    public Accelerator accelerator() {
        return accelerator;
    }

    /** The full command line QEMU was started with. */
    public List<String> command() {
        return command;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILLs QEMU; the directory and the console lines stay until {@link #close()}. */
    public void kill() {
        process.destroyForcibly();
    }

    /** Waits for QEMU to exit on its own; its exit code, or empty on timeout. */
    public OptionalInt awaitExit(Duration timeout) {
        try {
            return process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS) ? OptionalInt.of(process.exitValue()) : OptionalInt.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TestKitException("interrupted while waiting for QEMU " + name + " to exit", e);
        }
    }

    /** The last few KB QEMU wrote to stderr. */
    public String stderrTail() {
        return tailOf(dir.path().resolve("qemu.stderr"));
    }

    /** The last few KB QEMU wrote to stdout (HMP {@code qemu-io} output lands here). */
    public String stdoutTail() {
        return tailOf(dir.path().resolve("qemu.stdout"));
    }

    /**
     * Kills QEMU, waits for it, closes the console and deletes the directory (kept if env
     * {@code VMMIG_KEEP_DIRS=1}, for debugging; the next run's sweep removes it). Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            process.destroyForcibly();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                LOG.warn("QEMU {} (pid {}) did not exit 10 s after SIGKILL", name, process.pid());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            console.close();
            LIVE.remove(this);
            if ("1".equals(System.getenv("VMMIG_KEEP_DIRS"))) {
                LOG.info("keeping {} (VMMIG_KEEP_DIRS=1)", dir.path());
            } else {
                HarnessDirectory.deleteRecursively(dir.path());
            }
        }
    }

    @Override
    public String toString() {
        return "QemuProcess[" + name + ", pid " + process.pid() + ", " + dir.path() + "]";
    }

    private static String tailOf(Path file) {
        try {
            String s = Files.readString(file, StandardCharsets.UTF_8);
            return s.length() <= STDERR_TAIL ? s : "..." + s.substring(s.length() - STDERR_TAIL);
        } catch (IOException e) {
            return "(" + file.getFileName() + " unreadable: " + e.getMessage() + ")";
        }
    }

    private static void installShutdownHook() {
        if (HOOK.compareAndSet(false, true)) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                for (QemuProcess q : List.copyOf(LIVE)) {
                    q.close();
                }
            }, "vmmig-qemu-cleanup"));
        }
    }

    /** Configures and starts a {@link QemuProcess}. */
    public static final class Builder {
        private String name = "vm";
        private int memoryMb = 256;
        private Accelerator accelerator;
        private TestGuest guest;
        private Workload workload;
        private GuestNic nic;
        private final List<String> extraArgs = new ArrayList<>();
        private boolean incomingDefer;
        private Duration startTimeout = Duration.ofSeconds(30);
        private String binary = DEFAULT_BINARY;

        private Builder() {
        }

        /** Short name: directory prefix, {@code -name}, console source. */
        public Builder name(String n) {
            this.name = Objects.requireNonNull(n);
            return this;
        }

        /** RAM in MiB; the guest gets {@link GuestRam#EXTRA_KIB} KiB more (see {@link GuestRam}: QEMU 7.2 TCG loses writes otherwise). */
        public Builder memoryMb(int mb) {
            this.memoryMb = mb;
            return this;
        }

        /** Defaults to {@link Accelerator#detect()} with a guest, {@link Accelerator#TCG} without one. */
        public Builder accelerator(Accelerator a) {
            this.accelerator = Objects.requireNonNull(a);
            return this;
        }

        /** Boots the test guest running {@code w}; attach its disk with {@link #disk(DiskImage)} or {@link #extraArgs}. */
        public Builder guest(TestGuest g, Workload w) {
            this.guest = Objects.requireNonNull(g);
            this.workload = Objects.requireNonNull(w);
            return this;
        }

        /** Gives the test guest a NIC on a tap where QEMU runs, with a static address and a UDP echo ({@link GuestNic}). */
        public Builder nic(GuestNic n) {
            this.nic = Objects.requireNonNull(n);
            return this;
        }

        /** Attaches {@code image} as {@code /dev/vda} ({@link DiskImage#qemuArgs()}). */
        public Builder disk(DiskImage image) {
            extraArgs.addAll(image.qemuArgs());
            return this;
        }

        /** Appended to the command line after everything else. */
        public Builder extraArgs(List<String> args) {
            extraArgs.addAll(args);
            return this;
        }

        /** Adds {@code -incoming defer} (a migration destination). */
        public Builder incomingDefer(boolean on) {
            this.incomingDefer = on;
            return this;
        }

        /** How long {@link #start()} waits for the QMP socket and the serial connection (default 30 s). */
        public Builder startTimeout(Duration d) {
            this.startTimeout = Objects.requireNonNull(d);
            return this;
        }

        public Builder binary(String path) {
            this.binary = Objects.requireNonNull(path);
            return this;
        }

        /** Launches QEMU; returns once its QMP socket accepts connections and it connected to the serial console. */
        public QemuProcess start() {
            HarnessDirectory.sweepStaleOnce();
            installShutdownHook();
            Accelerator accel = accelerator != null ? accelerator : guest != null ? Accelerator.detect() : Accelerator.TCG;
            HarnessDirectory hd = HarnessDirectory.create(name);
            Path dir = hd.path();
            SerialConsole console = null;
            Process process = null;
            try {
                console = SerialConsole.listen(name, dir.resolve("serial.sock"), dir.resolve("console.log"));
                List<String> cmd = new ArrayList<>(List.of(binary, "-name", name, "-nodefaults", "-no-user-config",
                        "-display", "none", "-no-reboot", "-m", GuestRam.qemuSize(memoryMb)));
                cmd.addAll(accel.qemuArgs());
                cmd.addAll(List.of("-qmp", "unix:" + dir.resolve("qmp.sock") + ",server=on,wait=off",
                        "-chardev", "socket,id=ser0,path=" + dir.resolve("serial.sock"),
                        "-serial", "chardev:ser0"));
                if (guest != null) {
                    cmd.addAll(guest.qemuArgs(workload, nic));
                }
                if (incomingDefer) {
                    cmd.addAll(List.of("-incoming", "defer"));
                }
                cmd.addAll(extraArgs);
                try (WatchService watch = FileSystems.getDefault().newWatchService()) {
                    dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
                    process = new ProcessBuilder(cmd).directory(dir.toFile())
                            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                            .redirectOutput(dir.resolve("qemu.stdout").toFile())
                            .redirectError(dir.resolve("qemu.stderr").toFile()).start();
                    hd.recordQemu(process.toHandle());
                    QemuProcess q = new QemuProcess(name, hd, process, console, List.copyOf(cmd), accel);
                    LIVE.add(q);
                    q.awaitReady(watch, startTimeout);
                    LOG.info("started QEMU {} pid {} ({}) in {}", name, process.pid(), accel, dir);
                    return q;
                }
            } catch (IOException | RuntimeException e) {
                String stderr = tailOf(dir.resolve("qemu.stderr"));
                String stdout = tailOf(dir.resolve("qemu.stdout"));
                if (process != null) {
                    process.destroyForcibly();
                    try {
                        process.waitFor(10, TimeUnit.SECONDS);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (console != null) {
                    console.close();
                }
                LIVE.removeIf(q -> q.dir.path().equals(dir));
                HarnessDirectory.deleteRecursively(dir);
                throw new TestKitException("QEMU " + name + " failed to start: " + e.getMessage()
                        + "\nqemu stderr:\n" + stderr + (stdout.isBlank() ? "" : "\nqemu stdout:\n" + stdout), e);
            }
        }
    }

    /**
     * Deadline-bound wait until QMP answers {@code qmp_capabilities}: the greeting comes from QMP's own I/O
     * thread early, but commands run in QEMU's main loop, i.e. after every device was created, so a QEMU that
     * is going to fail on its command line has failed before this. The serial connection (made while QEMU
     * created its chardevs) must be there too.
     */
    private void awaitReady(WatchService watch, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (!qmpAnswers(deadline)) {
                if (!process.isAlive()) {
                    throw new TestKitException("QEMU exited with " + process.exitValue() + " before QMP was ready");
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TestKitException("QMP socket " + qmpSocket() + " not ready within " + timeout);
                }
                // woken by the socket's creation; the short cap re-checks liveness and a connect refused mid-bind
                var key = watch.poll(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 50), TimeUnit.MILLISECONDS);
                if (key != null) {
                    key.pollEvents();
                    key.reset();
                }
            }
            if (!console.awaitConnected(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
                throw new TestKitException("QEMU did not connect to the serial console within " + timeout
                        + (process.isAlive() ? "" : " (it exited with " + process.exitValue() + ")"));
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            Thread.currentThread().interrupt();
            throw new TestKitException("interrupted while starting QEMU " + name, e);
        }
    }

    /** Connects to the QMP socket, reads the greeting, runs {@code qmp_capabilities} (until the deadline); closes again. */
    private boolean qmpAnswers(long deadline) {
        if (!Files.exists(qmpSocket())) {
            return false;
        }
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
             Selector selector = Selector.open()) {
            ch.connect(UnixDomainSocketAddress.of(qmpSocket()));
            ch.configureBlocking(false);
            ch.register(selector, SelectionKey.OP_READ);
            ByteBuffer buf = ByteBuffer.allocate(16384);
            boolean sent = false;
            while (true) {
                long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (leftMs <= 0) {
                    return false;
                }
                selector.select(Math.min(leftMs, 100));
                selector.selectedKeys().clear();
                if (ch.read(buf) < 0) {
                    return false;   // QEMU closed it: exiting
                }
                String got = new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8);
                if (!sent && got.contains("\"QMP\"") && got.contains("\n")) {
                    ByteBuffer cmd = ByteBuffer.wrap("{\"execute\":\"qmp_capabilities\"}\n".getBytes(StandardCharsets.UTF_8));
                    while (cmd.hasRemaining()) {
                        ch.write(cmd);
                    }
                    sent = true;
                }
                if (sent && got.contains("\"return\"")) {
                    return true;
                }
                if (!buf.hasRemaining() || !process.isAlive()) {
                    return false;
                }
            }
        } catch (IOException e) {
            return false;
        }
    }
}
