package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.libvirt.DomainDisk;
import io.vmmig.libvirt.DomainXml;
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
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A libvirt-defined domain with two local disks, vda on a qcow2 and vdb on a raw file, both written by the
 * writing test guest (hot writes alternate them), moved by {@code vmmig migrate DOMAIN DEST} (hybrid) between
 * the two private libvirtd of {@code lab/libvirt/libvirt-lab}, then back by libvirt's own
 * {@code virsh migrate --live --copy-storage-all --p2p}. After each move the guest reads back both disks.
 *
 * <p>The lab's namespaces and state directory are this run's own ({@code lv2d<pid>}, under the test's
 * directory) unless {@code VMMIG_LIBVIRT_LAB_NS} is set, so this test never meets another libvirt lab.
 */
class TwoDiskDomainLibvirtIT {
    private static final String DOMAIN = "lvtwo";
    private static final String QCOW2 = "/srv/vmimg/" + DOMAIN + ".qcow2";
    private static final String RAW = "/srv/vmimg/" + DOMAIN + "-data.raw";
    private static final String URI_A = "qemu+tcp://10.214.0.1/system";
    private static final String URI_B = "qemu+tcp://10.214.0.2/system";

    private static Path dir;
    private static Path lab;
    /** {@code env VMMIG_LIBVIRT_LAB_NS=.. VMMIG_LIBVIRT_LAB=.. libvirt-lab}: every lab call names this run's lab. */
    private static List<String> labCmd;
    private static AgentProcess agentA;
    private static AgentProcess agentB;

    @BeforeAll
    static void up() throws Exception {
        long pid = ProcessHandle.current().pid();
        // not under the harness directory: other JVMs sweep what has no owner file there
        dir = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "vmmig-libvirt-two-it-" + pid));
        lab = Path.of("").toAbsolutePath().getParent().resolve("lab/libvirt/libvirt-lab");
        String ns = System.getenv("VMMIG_LIBVIRT_LAB_NS");
        String state = System.getenv("VMMIG_LIBVIRT_LAB");
        if (ns == null || ns.isBlank()) ns = "lv2d" + pid;
        if (state == null || state.isBlank() || System.getenv("VMMIG_LIBVIRT_LAB_NS") == null) state = dir.resolve("lab").toString();
        labCmd = List.of("env", "VMMIG_LIBVIRT_LAB_NS=" + ns, "VMMIG_LIBVIRT_LAB=" + state, "VMMIG_LIBVIRT_LAB_HOOK_CONF=" + dir, lab.toString());
        List<String> upCmd = new ArrayList<>(labCmd);
        upCmd.add("up");
        System.out.println("libvirt lab " + ns + " (state " + state + "): " + run(upCmd).strip());
        agentA = agent("a", "10.214.0.1", List.of());
        agentB = agent("b", "10.214.0.2", List.of("libvirt.migration-uri = " + URI_B, "image-dirs = /srv/vmimg",
                "libvirt.hook-refuse-unprepared = true"));
    }

    @AfterAll
    static void down() throws Exception {
        if (agentA != null) agentA.close();
        if (agentB != null) agentB.close();
        if (labCmd == null) return;
        for (String h : List.of("a", "b")) {
            tryRun(exec(h, "virsh", "-c", "qemu:///system", "destroy", DOMAIN));
            tryRun(exec(h, "virsh", "-c", "qemu:///system", "undefine", DOMAIN));
        }
        List<String> downCmd = new ArrayList<>(labCmd);
        downCmd.add("down");
        tryRun(downCmd);
        tryRun(List.of("rm", "-rf", dir.toString()));
    }

    private static AgentProcess agent(String name, String address, List<String> extra) throws Exception {
        Path home = Files.createDirectories(dir.resolve(name));
        List<String> conf = new ArrayList<>(List.of(
                "listen = " + address + ":7410",
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
        List<String> prefix = new ArrayList<>(labCmd);
        prefix.addAll(List.of("exec", name));
        return AgentProcess.start(name, prefix, config, home.resolve("control.sock"), 7410, home.resolve("agent.log"));
    }

    @Test
    void qcow2AndRawDisksMoveByHybridThenVirshMovesThemBack() throws Exception {
        Workload w = Workload.defaults().withRate(200).withHeartbeatMs(200).withSecondDisk("/dev/vdb");
        Path serial = dir.resolve("serial.sock");
        try (SerialConsole src = SerialConsole.listen("host-a", serial, dir.resolve("console-a.log"))) {
            virsh("a", "qemu-img", "create", "-f", "qcow2", QCOW2, "64M");
            virsh("a", "qemu-img", "create", "-f", "raw", RAW, "64M");
            Path xml = dir.resolve("domain.xml");
            Files.writeString(xml, domainXml(w, serial));
            virsh("a", "virsh", "-c", "qemu:///system", "define", xml.toString());
            virsh("a", "virsh", "-c", "qemu:///system", "start", DOMAIN);
            src.awaitLine(Pattern.compile("^PREFILL DONE"), Duration.ofSeconds(180));
            assertEquals(Map.of("vda", QCOW2 + " qcow2", "vdb", RAW + " raw"),
                    disksOf(virsh("a", "virsh", "-c", "qemu:///system", "dumpxml", DOMAIN)), "the domain as defined");

            // cancel during the push (held to 1 MiB/s so that there is a "during"): both disks thawed (libvirt's active
            // commit of each overlay, the raw one too), the definitions as before, nothing left at b, and the guest reads
            // back both disks here
            String inactiveBefore = virsh("a", "virsh", "-c", "qemu:///system", "dumpxml", "--inactive", DOMAIN);
            String liveBefore = virsh("a", "virsh", "-c", "qemu:///system", "dumpxml", DOMAIN);
            String[] id = new String[1];
            Path controlA = dir.resolve("a").resolve("control.sock");
            Cli.Result c = Cli.run(controlA, List.of("migrate", DOMAIN, "10.214.0.2:7410", "--bandwidth", "1M"), line -> {
                if (line.startsWith("migration ") && id[0] == null) id[0] = line.substring(10, line.indexOf(':'));
                if (line.contains("phase pushing") && id[0] != null) {
                    try {
                        Cli.run(controlA, List.of("cancel", id[0]));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
            assertEquals(8, c.exitCode(), "cancelled: " + c.stdout() + "\n" + c.stderr() + "\nagent a:\n" + agentA.logTail());
            assertEquals("running", virsh("a", "virsh", "-c", "qemu:///system", "domstate", DOMAIN).strip());
            assertEquals(liveBefore, virsh("a", "virsh", "-c", "qemu:///system", "dumpxml", DOMAIN), "live definition after the cancel");
            assertEquals(inactiveBefore, virsh("a", "virsh", "-c", "qemu:///system", "dumpxml", "--inactive", DOMAIN));
            assertEquals(java.util.Set.of(QCOW2.substring(11), RAW.substring(11)), java.util.Set.copyOf(virsh("a", "ls", "/srv/vmimg").lines().toList()),
                    "overlays left at a after the cancel");
            assertEquals("", virsh("b", "sh", "-c", "ls /srv/vmimg; ls " + dir.resolve("b/state/m") + " 2>/dev/null").strip(), "left at b");
            assertBothDisksVerify(src, "at a after the cancel");

            // --disks must name both: vdb left out would reach b without its data (libvirt migrates UNSAFE); nothing changes
            String before = liveBefore;
            Cli.Result partial = Cli.run(dir.resolve("a").resolve("control.sock"), List.of("migrate", DOMAIN, "10.214.0.2:7410", "--disks", "vda"));
            assertEquals(3, partial.exitCode(), "--disks vda: " + partial.stdout() + "\n" + partial.stderr());
            String said = String.join("\n", partial.stdout()) + "\n" + partial.stderr();
            assertTrue(said.contains("leaves out vdb (" + RAW + ")"), said);
            assertEquals("running", virsh("a", "virsh", "-c", "qemu:///system", "domstate", DOMAIN).strip());
            assertEquals(before, virsh("a", "virsh", "-c", "qemu:///system", "dumpxml", DOMAIN), "the definition after the refusal");
            assertFalse(virsh("b", "virsh", "-c", "qemu:///system", "list", "--all", "--name").contains(DOMAIN), "domain at b");

            SerialConsole dst = src.successor("host-b", dir.resolve("console-b.log"));
            // --bandwidth 2M is the domain's link budget: both disks' pushes draw on it together
            Cli.Result r = Cli.run(dir.resolve("a").resolve("control.sock"), List.of("migrate", DOMAIN, "10.214.0.2:7410", "--json",
                    "--bandwidth", "2M"));
            List<ControlEvent> events = r.events();
            ControlEvent last = events.get(events.size() - 1);
            assertInstanceOf(ControlEvent.Report.class, last, () -> "vmmig migrate: " + last + "\n" + r.stderr() + "\nagent a:\n"
                    + agentA.logTail() + "\nagent b:\n" + agentB.logTail());
            assertEquals(0, r.exitCode(), r.stderr());
            ControlEvent.Report report = (ControlEvent.Report) last;
            System.out.println("vmmig migrate " + DOMAIN + ":\n" + report.summary() + "\n" + report.report());

            // libvirt's view at the destination: both disks on their local files (the raw one still raw), no NBD; source gone
            String blk = virsh("b", "virsh", "-c", "qemu:///system", "domblklist", DOMAIN);
            assertTrue(blk.matches("(?s).*vda\\s+" + Pattern.quote(QCOW2) + ".*") && blk.matches("(?s).*vdb\\s+" + Pattern.quote(RAW) + ".*"), blk);
            String live = virsh("b", "virsh", "-c", "qemu:///system", "dumpxml", DOMAIN);
            assertFalse(live.contains("nbd"), live);
            assertEquals(Map.of("vda", QCOW2 + " qcow2", "vdb", RAW + " raw"), disksOf(live), live);
            String inactive = virsh("b", "virsh", "-c", "qemu:///system", "dumpxml", "--inactive", DOMAIN);
            assertFalse(inactive.contains("nbd"), inactive);
            assertEquals(Map.of("vda", QCOW2 + " qcow2", "vdb", RAW + " raw"), disksOf(inactive), inactive);
            assertTrue(virsh("b", "qemu-img", "info", "-U", RAW).contains("file format: raw"), "the raw image at b is raw");
            assertTrue(virsh("b", "virsh", "-c", "qemu:///system", "dominfo", DOMAIN).matches("(?s).*Persistent:\\s+yes.*"));
            assertFalse(virsh("a", "virsh", "-c", "qemu:///system", "list", "--all", "--name").contains(DOMAIN), "source domain left");
            assertEquals(java.util.Set.of(QCOW2.substring(11), RAW.substring(11)), java.util.Set.copyOf(virsh("a", "ls", "/srv/vmimg").lines().toList()),
                    "no overlay left at the source");

            var change = io.vmmig.testkit.Heartbeats.of(src.lines(), dst.lines()).consoleChanges();
            System.out.println("heartbeat gap at the switchover (host clock): " + change.stream().map(g -> g.host().toMillis() + " ms").toList());
            assertBothDisksVerify(dst, "at b after vmmig");

            // one push budget for both disks: 2 x 16 MiB at 2 MiB/s together take 16 s (less the bucket's first take); a
            // bucket per disk would let each push at 2 MiB/s and be done in 8 s. A lower bound: load only makes it longer
            long pushMillis = report.report().path("pushMillis").asLong();
            long pushedTotal = report.report().path("disks").get(0).path("pushedBytes").asLong()
                    + report.report().path("disks").get(1).path("pushedBytes").asLong();
            assertTrue(pushMillis >= 12_000, "2 x 16 MiB pushed under one 2 MiB/s budget in " + pushMillis + " ms (" + pushedTotal + " B)");

            // each disk apart: in the report, in its summary and in the progress events
            var reported = report.report().path("disks");
            assertEquals(2, reported.size(), report.report().toString());
            assertEquals("vda", reported.get(0).path("target").asText());
            assertEquals("qcow2", reported.get(0).path("format").asText());
            assertEquals("vdb", reported.get(1).path("target").asText());
            assertEquals("raw", reported.get(1).path("format").asText());
            for (var d : reported) {
                assertTrue(d.path("pushedBytes").asLong() >= 16L << 20, "each disk's 16 MiB prefill pushed: " + d);
                // the guest wrote both disks during the migration: each had a final dirty set to hand over (its pull may
                // be skipped where the guest at the destination overwrote whole chunks first)
                assertTrue(d.path("dirtyAtSwitchoverBytes").asLong() > 0, "each disk's dirty set: " + d);
            }
            assertEquals(2, report.summary().lines().filter(l -> l.matches("  disk vd[ab] \\((qcow2|raw), .*pushed .*pulled .*")).count(),
                    "one summary line per disk: " + report.summary());
            assertTrue(events.stream().anyMatch(e -> e instanceof ControlEvent.Progress p && p.progress().disks().size() == 2
                    && p.progress().disks().get(0).name().equals("vda") && p.progress().disks().get(1).name().equals("vdb")
                    && p.progress().disks().get(1).pushedBytes() > 0), "progress events show each disk: "
                    + events.stream().filter(e -> e instanceof ControlEvent.Progress).limit(3).toList());


            // and back with libvirt's own block migration of both disks
            SerialConsole back = dst.successor("host-a-again", dir.resolve("console-a2.log"));
            long t0 = System.nanoTime();
            virsh("b", "virsh", "-c", "qemu:///system", "migrate", "--live", "--copy-storage-all", "--p2p", "--persistent",
                    "--undefinesource", DOMAIN, URI_A);
            System.out.println("virsh migrate --live --copy-storage-all back: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
            assertFalse(virsh("b", "virsh", "-c", "qemu:///system", "list", "--all", "--name").contains(DOMAIN), "domain left at b");
            assertEquals(Map.of("vda", QCOW2 + " qcow2", "vdb", RAW + " raw"),
                    disksOf(virsh("a", "virsh", "-c", "qemu:///system", "dumpxml", DOMAIN)), "back at a");
            assertBothDisksVerify(back, "at a after virsh migrate back");
        }
    }

    /** The guest reads back both disks: a VERIFY DISK line per disk, OK with no failure, and VERIFY OK. */
    private static void assertBothDisksVerify(SerialConsole console, String where) {
        int mark = console.lineCount();
        console.send("verify");
        var verdict = console.awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofMinutes(2), mark);
        List<String> lines = new ArrayList<>();
        for (var l : console.lines())
            if (l.index() >= mark && l.index() < verdict.index() && l.text().startsWith("VERIFY DISK ")) lines.add(l.text());
        lines.add(verdict.text());
        System.out.println(where + ": " + lines);
        assertEquals(3, lines.size(), where + ": " + lines + "\n" + console.tailText(10));
        assertTrue(lines.get(0).matches("VERIFY DISK /dev/vda OK \\d+ failures=0.*"), where + ": " + lines);
        assertTrue(lines.get(1).matches("VERIFY DISK /dev/vdb OK \\d+ failures=0.*"), where + ": " + lines);
        assertTrue(lines.get(2).startsWith("VERIFY OK"), where + ": " + lines);
    }

    /** Each disk's target to "source format" in a domain definition. */
    private static Map<String, String> disksOf(String xml) {
        return DomainXml.parse(xml).disks().stream().collect(Collectors.toMap(DomainDisk::target, d -> d.source() + " " + d.format()));
    }

    private static String domainXml(Workload w, Path serial) {
        return io.vmmig.testkit.GuestDomainXml.of(DOMAIN, 128, w, serial, java.util.List.of(
                new io.vmmig.testkit.GuestDomainXml.Disk("qcow2", String.valueOf(QCOW2), "vda"),
                new io.vmmig.testkit.GuestDomainXml.Disk("raw", String.valueOf(RAW), "vdb")));
    }

    private static List<String> exec(String h, String... cmd) {
        List<String> argv = new ArrayList<>(labCmd);
        argv.addAll(List.of("exec", h));
        argv.addAll(List.of(cmd));
        return argv;
    }

    /** Runs CMD in lab host {@code h}'s namespaces; its stdout, or a failure with its output. */
    private static String virsh(String h, String... cmd) throws Exception {
        return run(exec(h, cmd));
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
