package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.control.MigrationStatus;
import io.vmmig.testkit.HarnessDirectory;
import io.vmmig.testkit.SerialConsole;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every way a libvirt domain's migration ends before the switchover leaves the source as it was and nothing at
 * the destination: Ctrl-C on {@code vmmig migrate DOMAIN DEST} (during the push and while libvirt moves the
 * memory), {@code vmmig cancel ID} while libvirt moves the memory (during the push: DomainMigrationLibvirtIT),
 * either agent killed with SIGKILL (during the push; the source also while libvirt moves the memory) and
 * restarted (its journal takes the migration back and cancels it), and the errors that refuse a migration
 * (a disk vmmig cannot move, an unreachable libvirtd, an active block job, snapshot metadata). Its own libvirt
 * lab ({@code VMMIG_LIBVIRT_LAB_NS=lvc}, state in /tmp/vmmig-lvc), so that it runs beside the other libvirt ITs.
 * After each cell: the source domain runs, {@code virsh dumpxml} (live and inactive) is what it was before the
 * first, no overlay is left at the source, and the guest reads back its disk (VERIFY OK).
 */
class CancelDomainLibvirtIT {
    private static final String NS = "lvc";
    private static final String LAB_STATE = "/tmp/vmmig-lvc";
    private static final String DOMAIN = "lvc1";
    private static final String IMAGE = "/srv/vmimg/" + DOMAIN + ".qcow2";
    private static final String DEST = "10.214.0.2:7410";
    private static final String URI_B = "qemu+tcp://10.214.0.2/system";

    private static Path dir;
    private static Path lab;
    private static AgentProcess agentA;
    private static AgentProcess agentB;
    private static SerialConsole console;
    private static String liveBefore;
    private static String inactiveBefore;

    @BeforeAll
    static void up() throws Exception {
        dir = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "vmmig-lvc-it-" + ProcessHandle.current().pid()));
        lab = Path.of("").toAbsolutePath().getParent().resolve("lab/libvirt/libvirt-lab");
        String upOut = run(labCommand("up"));
        assertTrue(upOut.contains("libvirt lab up"), upOut);
        agentA = agentA();
        agentB = agentB();
        Workload w = Workload.defaults().withRate(200).withHeartbeatMs(200);
        Path serial = dir.resolve("serial.sock");
        console = SerialConsole.listen("lvc-a", serial, dir.resolve("console-a.log"));
        in("a", "qemu-img", "create", "-f", "qcow2", IMAGE, "64M");
        Path xml = dir.resolve("domain.xml");
        Files.writeString(xml, domainXml(w, serial));
        virsh("a", "define", xml.toString());
        virsh("a", "start", DOMAIN);
        console.awaitLine(Pattern.compile("^PREFILL DONE"), Duration.ofSeconds(180));
        liveBefore = virsh("a", "dumpxml", DOMAIN);
        inactiveBefore = virsh("a", "dumpxml", "--inactive", DOMAIN);
    }

    @AfterAll
    static void down() throws Exception {
        if (agentA != null) agentA.close();
        if (agentB != null) agentB.close();
        if (console != null) console.close();
        if (lab != null) {
            for (String h : List.of("a", "b")) {
                for (String d : List.of(DOMAIN, "lvc-err")) {
                    tryRun(labCommand("exec", h, "virsh", "-c", "qemu:///system", "destroy", d));
                    tryRun(labCommand("exec", h, "virsh", "-c", "qemu:///system", "undefine", d));
                }
            }
            tryRun(labCommand("down"));
        }
        if (dir != null) tryRun(List.of("rm", "-rf", dir.toString()));
    }

    /** After each cell: the source as it was before the first, nothing at the destination, the guest's disk intact. */
    @AfterEach
    void sourceAsItWasAndNothingAtTheDestination() throws Exception {
        assertEquals("running", virsh("a", "domstate", DOMAIN).strip());
        assertEquals(liveBefore, virsh("a", "dumpxml", DOMAIN), "the source's live definition");
        assertEquals(inactiveBefore, virsh("a", "dumpxml", "--inactive", DOMAIN), "the source's persistent definition");
        assertEquals(DOMAIN + ".qcow2", in("a", "ls", "/srv/vmimg").strip(), "overlay left at the source");
        assertDestinationEmpty();
        int mark = console.lineCount();
        console.send("verify");
        assertTrue(console.awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofSeconds(120), mark).text().startsWith("VERIFY OK"),
                console.tailText(10));
    }

    @Test
    void ctrlCDuringThePushCancels() throws Exception {
        CompletableFuture<Process> cli = new CompletableFuture<>();
        Cli.Result c = Cli.run(controlA(), List.of("migrate", DOMAIN, DEST, "--bandwidth", "1M"), line -> {
            if (line.contains("phase pushing")) signal("-INT", cli.join().pid());
        }, cli::complete);
        assertEquals(ErrorKind.CANCELLED.exitCode, c.exitCode(), "Ctrl-C: " + c.stdout() + "\n" + c.stderr() + "\nagent a:\n" + agentA.logTail());
        assertTrue(c.stdout().stream().anyMatch(l -> l.contains("phase pushing")), "it was pushing: " + c.stdout());
        System.out.println("Ctrl-C: exit " + c.exitCode() + ": " + c.stderr().strip());
    }

    /**
     * Ctrl-C while libvirt migrates the memory (held to 1 MiB/s with {@code virsh migrate-setspeed}): libvirt's job is
     * aborted, libvirt removes its incoming domain at the destination, the disks are thawed.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ctrl-c", "vmmig cancel"})
    void cancelDuringLibvirtsMemoryMigrationAbortsItsJob(String how) throws Exception {
        withSlowLibvirtMigration(() -> {
            CompletableFuture<Process> cli = new CompletableFuture<>();
            String[] id = new String[1];
            Cli.Result c = Cli.run(controlA(), List.of("migrate", DOMAIN, DEST), line -> {
                if (line.startsWith("migration ") && id[0] == null) id[0] = line.substring(10, line.indexOf(':'));
                if (line.contains("phase memory")) {
                    awaitLibvirtMovingMemory();
                    if (how.equals("ctrl-c")) {
                        signal("-INT", cli.join().pid());
                    } else {
                        try {
                            Cli.Result cancel = Cli.run(controlA(), List.of("cancel", id[0]));
                            assertEquals(0, cancel.exitCode(), cancel.stdout() + " / " + cancel.stderr());
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }
                }
            }, cli::complete);
            System.out.println(how + " during libvirt's memory migration: exit " + c.exitCode() + ": " + c.stderr().strip());
            assertEquals(ErrorKind.CANCELLED.exitCode, c.exitCode(), how + ": " + c.stdout() + "\n" + c.stderr() + "\nagent a:\n"
                    + agentA.logTail() + "\nagent b:\n" + agentB.logTail());
            assertTrue(c.stdout().stream().anyMatch(l -> l.contains("phase memory")), "libvirt was migrating: " + c.stdout());
            awaitDestinationEmpty();
        });
    }

    /**
     * The source agent SIGKILLed while libvirt migrates the memory (1 MiB/s): restarted, it aborts libvirt's job if
     * it still runs (libvirt may have ended it with its caller's connection) and merges the overlay back.
     */
    @Test
    void sourceAgentKilledDuringLibvirtsMemoryMigrationCancelsOnRestart() throws Exception {
        withSlowLibvirtMigration(() -> {
            String[] id = new String[1];
            Cli.Result c = Cli.run(controlA(), List.of("migrate", DOMAIN, DEST), line -> {
                if (line.startsWith("migration ") && id[0] == null) id[0] = line.substring(10, line.indexOf(':'));
                if (line.contains("phase memory")) {
                    try {
                        awaitLibvirtMovingMemory();   // so that the restart finds libvirt's job if it survives its caller
                        agentA.kill();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
            assertNotEquals(0, c.exitCode(), c.stdout() + "\n" + c.stderr());
            assertTrue(id[0] != null && c.stdout().stream().anyMatch(l -> l.contains("phase memory")), c.stdout().toString());
            String job = virsh("a", "domjobinfo", DOMAIN).lines().findFirst().orElse("");
            System.out.println("after the kill: source domjobinfo: " + job + "; destination domains: " + virsh("b", "list", "--all", "--name").strip());
            agentA = agentA();
            MigrationStatus s = awaitEnded(controlA(), id[0]);
            System.out.println("source agent killed during libvirt's memory migration, restarted: " + s.phase() + ": " + s.error());
            assertEquals(MigrationPhase.CANCELLED, s.phase(), s.toString() + "\nagent a:\n" + agentA.logTail());
            assertTrue(s.error().contains("cancelled by an agent restart before the switchover") && s.error().contains("vda back on its image"),
                    s.error());
            if (job.contains("Unbounded")) assertTrue(s.error().contains("libvirt's migration job aborted"), "the job survived the kill: " + s.error());
            awaitDestinationEmpty();
        });
    }

    @Test
    void sourceAgentKilledDuringThePushCancelsOnRestart() throws Exception {
        String[] id = new String[1];
        Cli.Result c = Cli.run(controlA(), List.of("migrate", DOMAIN, DEST, "--bandwidth", "1M"), line -> {
            if (line.startsWith("migration ") && id[0] == null) id[0] = line.substring(10, line.indexOf(':'));
            if (line.contains("phase pushing")) {
                try {
                    agentA.kill();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        assertNotEquals(0, c.exitCode(), c.stdout() + "\n" + c.stderr());
        assertTrue(id[0] != null && c.stdout().stream().anyMatch(l -> l.contains("phase pushing")), c.stdout().toString());
        // the kill left the domain frozen: its disk on vmmig's overlay (what the restart has to undo)
        assertTrue(virsh("a", "domblklist", DOMAIN).contains(IMAGE + ".vmmig-" + id[0]), virsh("a", "domblklist", DOMAIN));
        agentA = agentA();
        MigrationStatus s = awaitEnded(controlA(), id[0]);
        System.out.println("source agent killed during the push, restarted: " + s.phase() + ": " + s.error());
        assertEquals(MigrationPhase.CANCELLED, s.phase(), s.toString() + "\nagent a:\n" + agentA.logTail());
        assertTrue(s.error().contains("cancelled by an agent restart before the switchover") && s.error().contains("vda back on its image"),
                s.error());
        Cli.Result list = Cli.run(controlA(), List.of("list"));
        assertTrue(list.stdout().stream().anyMatch(l -> l.contains(id[0]) && l.contains("cancelled")), list.stdout().toString());
        // the destination saw its source go and removed what it had prepared
        awaitDestinationEmpty();
    }

    @Test
    void destinationAgentKilledDuringThePushCancelsOnBothSides() throws Exception {
        String[] id = new String[1];
        Cli.Result c = Cli.run(controlA(), List.of("migrate", DOMAIN, DEST, "--bandwidth", "1M"), line -> {
            if (line.startsWith("migration ") && id[0] == null) id[0] = line.substring(10, line.indexOf(':'));
            if (line.contains("phase pushing")) {
                try {
                    agentB.kill();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        assertNotEquals(0, c.exitCode(), c.stdout() + "\n" + c.stderr());
        // the killed destination left its image behind (what its restart has to remove)
        assertTrue(in("b", "ls", "/srv/vmimg").contains(DOMAIN + ".qcow2"), in("b", "ls", "/srv/vmimg"));
        agentB = agentB();
        MigrationStatus s = awaitEnded(controlB(), id[0]);
        System.out.println("destination agent killed during the push, restarted: " + s.phase() + ": " + s.error());
        assertEquals(MigrationPhase.CANCELLED, s.phase(), s.toString() + "\nagent b:\n" + agentB.logTail());
        assertTrue(s.error().contains("cancelled by an agent restart before the switchover") && s.error().contains(IMAGE), s.error());
        MigrationStatus src = awaitEnded(controlA(), id[0]);
        assertTrue(src.phase() == MigrationPhase.FAILED || src.phase() == MigrationPhase.CANCELLED, src.toString());
        System.out.println("its source: " + src.phase() + ": " + src.error());
        assertTrue(src.error().contains("the guest runs at the source"), src.toString());
    }

    /** A disk vmmig cannot move (a qcow2 with a backing file) is refused naming it and why; a CD-ROM beside it is no reason. */
    @Test
    void aDiskItCannotMoveIsNamedAndTheSourceUntouched() throws Exception {
        in("a", "qemu-img", "create", "-f", "qcow2", "/srv/vmimg/lvc-err-base.qcow2", "16M");
        in("a", "qemu-img", "create", "-f", "qcow2", "-F", "qcow2", "-b", "/srv/vmimg/lvc-err-base.qcow2", "/srv/vmimg/lvc-err.qcow2");
        in("a", "qemu-img", "create", "-f", "raw", "/srv/vmimg/lvc-err.iso", "1M");
        Path xml = dir.resolve("err.xml");
        Files.writeString(xml, "<domain type='qemu'><name>lvc-err</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                + "<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os><devices>"
                + "<emulator>/usr/bin/qemu-system-x86_64</emulator>"
                + "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/srv/vmimg/lvc-err.iso'/>"
                + "<target dev='hdc' bus='ide'/><readonly/></disk>"
                + "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/srv/vmimg/lvc-err.qcow2'/>"
                + "<target dev='vda' bus='virtio'/></disk></devices></domain>");
        try {
            virsh("a", "create", xml.toString());
            String before = virsh("a", "dumpxml", "lvc-err");
            Cli.Result r = Cli.run(controlA(), List.of("migrate", "lvc-err", DEST));
            assertEquals(ErrorKind.ENVIRONMENT.exitCode, r.exitCode(), r.stdout() + "\n" + r.stderr());
            System.out.println("refused: " + r.stderr().strip());
            assertTrue(r.stderr().contains("disk vda (/srv/vmimg/lvc-err.qcow2) cannot be moved: has a backing file /srv/vmimg/lvc-err-base.qcow2"),
                    r.stderr());
            assertFalse(r.stderr().contains("hdc"), "the CD-ROM is no reason to refuse: " + r.stderr());
            assertEquals("running", virsh("a", "domstate", "lvc-err").strip());
            assertEquals(before, virsh("a", "dumpxml", "lvc-err"), "lvc-err's definition after the refusal");
        } finally {
            tryRun(labCommand("exec", "a", "virsh", "-c", "qemu:///system", "destroy", "lvc-err"));
            in("a", "rm", "-f", "/srv/vmimg/lvc-err.qcow2", "/srv/vmimg/lvc-err-base.qcow2", "/srv/vmimg/lvc-err.iso");
        }
    }

    /** A libvirtd that cannot be reached (libvirt.uri to a port where nothing listens) is named, with the config key. */
    @Test
    void anUnreachableLibvirtdIsNamed() throws Exception {
        String uri = "qemu+tcp://10.214.0.1:1/system";
        try (AgentProcess c = agent("c", "10.214.0.1:7411", List.of("libvirt.uri = " + uri))) {
            Cli.Result r = Cli.run(dir.resolve("c/control.sock"), List.of("migrate", DOMAIN, DEST));
            assertEquals(ErrorKind.NOT_FOUND.exitCode, r.exitCode(), r.stdout() + "\n" + r.stderr());
            System.out.println("refused: " + r.stderr().strip());
            assertTrue(r.stderr().contains("libvirtd at " + uri + " cannot be reached") && r.stderr().contains("libvirt.uri"), r.stderr());
        }
    }

    /** A block job on the domain's disk (libvirt's block copy, left mirroring): refused naming the disk; the job is the operator's. */
    @Test
    void anActiveBlockJobIsNamed() throws Exception {
        virsh("a", "blockcopy", DOMAIN, "vda", "/srv/vmimg/lvc1-copy.qcow2", "--transient-job", "--wait");   // returns mirroring (ready)
        try {
            String during = virsh("a", "dumpxml", DOMAIN);
            Cli.Result r = Cli.run(controlA(), List.of("migrate", DOMAIN, DEST));
            assertEquals(ErrorKind.ENVIRONMENT.exitCode, r.exitCode(), r.stdout() + "\n" + r.stderr());
            System.out.println("refused: " + r.stderr().strip());
            assertTrue(r.stderr().contains("has an active block job on vda"), r.stderr());
            assertEquals(during, virsh("a", "dumpxml", DOMAIN), "the definition with the job after the refusal");
            assertFalse(virsh("a", "blockjob", DOMAIN, "vda", "--info").contains("No current block job"), "the operator's job still runs");
        } finally {
            virsh("a", "blockjob", DOMAIN, "vda", "--abort");
            in("a", "rm", "-f", "/srv/vmimg/lvc1-copy.qcow2");
        }
    }

    /** Snapshot metadata (an internal snapshot libvirt knows): refused naming it and how to get rid of it. */
    @Test
    void snapshotMetadataIsNamed() throws Exception {
        virsh("a", "snapshot-create-as", DOMAIN, "lvc-s1", "--atomic");
        try {
            Cli.Result r = Cli.run(controlA(), List.of("migrate", DOMAIN, DEST));
            assertEquals(ErrorKind.ENVIRONMENT.exitCode, r.exitCode(), r.stdout() + "\n" + r.stderr());
            System.out.println("refused: " + r.stderr().strip());
            assertTrue(r.stderr().contains("has 1 snapshot(s) in libvirt's metadata") && r.stderr().contains("snapshot-delete"), r.stderr());
            assertTrue(virsh("a", "snapshot-list", DOMAIN, "--name").contains("lvc-s1"), "the snapshot is kept");
        } finally {
            virsh("a", "snapshot-delete", DOMAIN, "lvc-s1");
        }
    }

    interface Cell {
        void run() throws Exception;
    }

    /** Runs {@code cell} with libvirt's memory migration of the domain held to 1 MiB/s, then back to what it was. */
    private static void withSlowLibvirtMigration(Cell cell) throws Exception {
        String speed = virsh("a", "migrate-getspeed", DOMAIN).strip();
        virsh("a", "migrate-setspeed", DOMAIN, "1");
        try {
            cell.run();
        } finally {
            virsh("a", "migrate-setspeed", DOMAIN, speed);
        }
    }

    private static final Pattern MEMORY_PROCESSED = Pattern.compile("(?m)^Memory processed:\\s+([0-9.]+)");

    /**
     * Until libvirt's migration job of the domain has moved memory ({@code virsh domjobinfo}: Unbounded, "Memory
     * processed" above 0: past libvirt's Begin and Prepare, the destination QEMU runs and receives), at most a minute.
     */
    private static void awaitLibvirtMovingMemory() {
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                var m = MEMORY_PROCESSED.matcher(virsh("a", "domjobinfo", DOMAIN));
                if (m.find() && Double.parseDouble(m.group(1)) > 0) return;
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
            }
            throw new AssertionError("libvirt's migration of " + DOMAIN + " moved no memory in a minute: " + virsh("a", "domjobinfo", DOMAIN));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static MigrationStatus awaitEnded(Path control, String id) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (true) {
            Cli.Result r = Cli.run(control, List.of("status", id, "--json"));
            if (r.exitCode() == 0) {
                MigrationStatus s = ((ControlEvent.Status) ControlCodec.decodeEvent(r.stdout().get(0))).migration();
                if (s.phase().terminal()) return s;
            }
            if (System.nanoTime() > deadline) throw new AssertionError("migration " + id + " did not end: " + r.stdout() + " " + r.stderr());
            LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
        }
    }

    private static void assertDestinationEmpty() throws Exception {
        assertEquals("", destinationLeftovers(), "left at the destination");
    }

    private static void awaitDestinationEmpty() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!destinationLeftovers().isEmpty() && System.nanoTime() < deadline) LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
        assertDestinationEmpty();
    }

    /** What is at the destination: domains, images, the agent's migration directories and hook markers. */
    private static String destinationLeftovers() throws Exception {
        return (virsh("b", "list", "--all", "--name").strip() + "\n" + in("b", "sh", "-c", "ls /srv/vmimg; ls " + dir.resolve("b/state/m")
                + " 2>/dev/null; ls " + dir.resolve("b/state/libvirt-incoming") + " 2>/dev/null").strip()).strip();
    }

    private static Path controlA() {
        return dir.resolve("a/control.sock");
    }

    private static Path controlB() {
        return dir.resolve("b/control.sock");
    }

    private static AgentProcess agentA() throws Exception {
        return agent("a", "10.214.0.1:7410", List.of());
    }

    private static AgentProcess agentB() throws Exception {
        return agent("b", "10.214.0.2:7410", List.of("libvirt.migration-uri = " + URI_B, "image-dirs = /srv/vmimg"));
    }

    private static AgentProcess agent(String name, String listen, List<String> extra) throws Exception {
        Path home = Files.createDirectories(dir.resolve(name));
        List<String> conf = new ArrayList<>(List.of(
                "listen = " + listen,
                "state-dir = " + home.resolve("state"),
                "control-socket = " + home.resolve("control.sock"),
                "timeout = 120",
                "insecure = true",
                "allowed.kernel-dirs = " + TestGuest.get().directory(),
                "allowed.chardev-dirs = " + HarnessDirectory.base()));
        if (extra.stream().noneMatch(l -> l.startsWith("image-dirs"))) conf.add("image-dirs = " + Files.createDirectories(home.resolve("images")));
        conf.addAll(extra);
        Path config = home.resolve("vmmig.conf");
        Files.write(config, conf);
        String host = name.equals("b") ? "b" : "a";
        return AgentProcess.start(name, labCommand("exec", host), config, home.resolve("control.sock"),
                Integer.parseInt(listen.substring(listen.indexOf(':') + 1)), home.resolve("agent.log"));
    }

    private static String domainXml(Workload w, Path serial) {
        return io.vmmig.testkit.GuestDomainXml.of(DOMAIN, 128, w, serial, java.util.List.of(new io.vmmig.testkit.GuestDomainXml.Disk("qcow2", String.valueOf(IMAGE), "vda")));
    }

    /** The lab script with this test's namespace pair and state dir (env execs it, so a Process is the command's). */
    private static List<String> labCommand(String... args) {
        List<String> argv = new ArrayList<>(List.of("env", "VMMIG_LIBVIRT_LAB_NS=" + NS, "VMMIG_LIBVIRT_LAB=" + LAB_STATE, lab.toString()));
        argv.addAll(List.of(args));
        return argv;
    }

    private static String virsh(String h, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("virsh", "-c", "qemu:///system"));
        argv.addAll(List.of(args));
        return in(h, argv.toArray(String[]::new));
    }

    /** Runs CMD in lab host {@code h}'s namespaces; its stdout, or a failure with its output. */
    private static String in(String h, String... cmd) throws Exception {
        List<String> argv = labCommand("exec", h);
        argv.addAll(List.of(cmd));
        return run(argv);
    }

    private static void signal(String sig, long pid) {
        try {
            assertEquals(0, new ProcessBuilder("kill", sig, Long.toString(pid)).inheritIO().start().waitFor());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String run(List<String> argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) p.destroyForcibly();
        if (p.exitValue() != 0) throw new IllegalStateException(argv + " exited " + p.exitValue() + ": " + out);
        return out;
    }

    private static void tryRun(List<String> argv) {
        try {
            run(argv);
        } catch (Exception | Error e) {
            // cleanup is best effort
        }
    }
}
