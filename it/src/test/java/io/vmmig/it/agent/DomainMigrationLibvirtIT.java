package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.testkit.HarnessDirectory;
import io.vmmig.testkit.SerialConsole;
import io.vmmig.testkit.TestGuest;
import io.vmmig.testkit.Workload;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code vmmig migrate DOMAIN DEST} for a libvirt-defined domain between two real libvirtd (the libvirt lab:
 * {@code lab/libvirt/libvirt-lab}, two private libvirtd in network + mount namespaces lv-a and lv-b, started
 * and stopped by this test), one vmmig agent in each host's namespaces. The domain runs the writing test guest
 * (TCG, kernel + initramfs) on a local qcow2 at /srv/vmimg, which is a different file on each host.
 */
class DomainMigrationLibvirtIT {
    private static final String DOMAIN = "lvit1";
    private static final String IMAGE = "/srv/vmimg/" + DOMAIN + ".qcow2";
    private static final String URI_A = "qemu+tcp://10.214.0.1/system";
    private static final String URI_B = "qemu+tcp://10.214.0.2/system";

    private static Path dir;
    private static Path lab;
    private static AgentProcess agentA;
    private static AgentProcess agentB;

    @BeforeAll
    static void up() throws Exception {
        // not under the harness directory: other JVMs sweep what has no owner file there
        dir = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "vmmig-libvirt-it-" + ProcessHandle.current().pid()));
        lab = Path.of("").toAbsolutePath().getParent().resolve("lab/libvirt/libvirt-lab");
        // vmmig's qemu hook in both libvirtd, reading the agents' configs below
        ProcessBuilder upCmd = new ProcessBuilder(lab.toString(), "up").redirectErrorStream(true);
        upCmd.environment().put("VMMIG_LIBVIRT_LAB_HOOK_CONF", dir.toString());
        Process up = upCmd.start();
        up.getOutputStream().close();
        String upOut = new String(up.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, up.waitFor(), upOut);
        agentA = agent("a", "10.214.0.1", List.of());
        agentB = agent("b", "10.214.0.2", List.of("libvirt.migration-uri = " + URI_B, "image-dirs = /srv/vmimg",
                "libvirt.hook-refuse-unprepared = true"));
    }

    @AfterAll
    static void down() throws Exception {
        if (agentA != null) agentA.close();
        if (agentB != null) agentB.close();
        for (String h : List.of("a", "b")) {
            tryRun(List.of(lab.toString(), "exec", h, "virsh", "-c", "qemu:///system", "destroy", DOMAIN));
            tryRun(List.of(lab.toString(), "exec", h, "virsh", "-c", "qemu:///system", "undefine", DOMAIN));
        }
        tryRun(List.of(lab.toString(), "down"));
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
        return AgentProcess.start(name, List.of(lab.toString(), "exec", name), config, home.resolve("control.sock"), 7410,
                home.resolve("agent.log"));
    }

    @Test
    void hybridThroughLibvirtThenVirshMigratesItBack() throws Exception {
        Workload w = Workload.defaults().withRate(200).withHeartbeatMs(200);
        Path serial = dir.resolve("serial.sock");
        try (SerialConsole src = SerialConsole.listen("lv-a", serial, dir.resolve("console-a.log"))) {
            virsh("a", "qemu-img", "create", "-f", "qcow2", IMAGE, "64M");
            Path xml = dir.resolve("domain.xml");
            Files.writeString(xml, domainXml(w, serial));
            virsh("a", "virsh", "-c", "qemu:///system", "define", xml.toString());
            virsh("a", "virsh", "-c", "qemu:///system", "start", DOMAIN);
            src.awaitLine(Pattern.compile("^PREFILL DONE"), Duration.ofSeconds(120));
            String sourceBefore = virsh("a", "virsh", "-c", "qemu:///system", "dumpxml", DOMAIN);
            String inactiveBefore = virsh("a", "virsh", "-c", "qemu:///system", "dumpxml", "--inactive", DOMAIN);

            // cancel during the push (held to 1 MiB/s so that there is a "during"): nothing changed, nothing left
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
            assertEquals(sourceBefore, virsh("a", "virsh", "-c", "qemu:///system", "dumpxml", DOMAIN), "source definition after the cancel");
            assertEquals(inactiveBefore, virsh("a", "virsh", "-c", "qemu:///system", "dumpxml", "--inactive", DOMAIN));
            assertFalse(virsh("b", "virsh", "-c", "qemu:///system", "list", "--all", "--name").contains(DOMAIN), "domain at the destination");
            assertEquals("", virsh("b", "sh", "-c", "ls /srv/vmimg; ls " + dir.resolve("b/state/m") + " 2>/dev/null; ls "
                    + dir.resolve("b/state/libvirt-incoming") + " 2>/dev/null").strip(), "left at the destination");
            assertEquals(IMAGE.substring(IMAGE.lastIndexOf('/') + 1), virsh("a", "ls", "/srv/vmimg").strip(), "overlay left at the source");

            SerialConsole dst = src.successor("lv-b", dir.resolve("console-b.log"));
            Cli.Result r = Cli.run(dir.resolve("a").resolve("control.sock"), List.of("migrate", DOMAIN, "10.214.0.2:7410"));
            assertEquals(0, r.exitCode(), "vmmig migrate: " + r.stdout() + "\n" + r.stderr() + "\nagent a:\n" + agentA.logTail()
                    + "\nagent b:\n" + agentB.logTail());
            String summary = String.join("\n", r.stdout());
            System.out.println("vmmig migrate " + DOMAIN + ":\n" + summary);

            // libvirt's view at the destination: the local file, no NBD, persistent; the source domain is gone
            String blk = virsh("b", "virsh", "-c", "qemu:///system", "domblklist", DOMAIN);
            assertTrue(blk.contains("vda") && blk.contains(IMAGE), blk);
            String live = virsh("b", "virsh", "-c", "qemu:///system", "dumpxml", DOMAIN);
            assertFalse(live.contains("nbd"), live);
            assertFalse(virsh("b", "virsh", "-c", "qemu:///system", "dumpxml", "--inactive", DOMAIN).contains("nbd"));
            assertTrue(virsh("b", "virsh", "-c", "qemu:///system", "dominfo", DOMAIN).matches("(?s).*Persistent:\\s+yes.*"));
            assertFalse(virsh("a", "virsh", "-c", "qemu:///system", "list", "--all", "--name").contains(DOMAIN), "source domain left");
            assertFalse(sourceBefore.contains("nbd"));

            // the guest-visible pause: its heartbeats' gap where they change console (printed, not asserted: a figure)
            var change = io.vmmig.testkit.Heartbeats.of(src.lines(), dst.lines()).consoleChanges();
            System.out.println("heartbeat gap at the switchover (host clock): " + change.stream().map(g -> g.host().toMillis() + " ms").toList()
                    + ", guest clock: " + change.stream().map(g -> g.guest().toMillis() + " ms").toList());
            int mark = dst.lineCount();
            dst.send("verify");
            assertTrue(dst.awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofSeconds(60), mark).text().startsWith("VERIFY OK"),
                    dst.tailText(10));

            // libvirt's own disk operations work on the migrated guest: a disk-only snapshot, then a block job
            // (active commit) that folds it back, then libvirt sees the disk on its file again
            virsh("b", "virsh", "-c", "qemu:///system", "snapshot-create-as", DOMAIN, "--disk-only", "--no-metadata", "--atomic",
                    "--diskspec", "vda,file=/srv/vmimg/" + DOMAIN + ".snap1");
            assertTrue(virsh("b", "virsh", "-c", "qemu:///system", "domblklist", DOMAIN).contains(DOMAIN + ".snap1"));
            virsh("b", "virsh", "-c", "qemu:///system", "blockcommit", DOMAIN, "vda", "--active", "--pivot", "--wait");
            assertTrue(virsh("b", "virsh", "-c", "qemu:///system", "domblklist", DOMAIN).contains(IMAGE), "back on the image after blockcommit");
            assertTrue(virsh("b", "virsh", "-c", "qemu:///system", "blockjob", DOMAIN, "vda", "--info").contains("No current block job"));
            virsh("b", "rm", "/srv/vmimg/" + DOMAIN + ".snap1");

            // the hook at host a refuses an incoming libvirt migration while a's agent is down; the guest stays at b
            agentA.close();
            String refused = tryVirsh("b", "virsh", "-c", "qemu:///system", "migrate", "--live", "--copy-storage-all", "--p2p", "--persistent",
                    "--undefinesource", DOMAIN, URI_A);
            assertTrue(refused.contains("vmmig-hook: refusing incoming migration of " + DOMAIN) && refused.contains("does not exist"), refused);
            assertEquals("running", virsh("b", "virsh", "-c", "qemu:///system", "domstate", DOMAIN).strip());
            agentA = agent("a", "10.214.0.1", List.of());

            // and back with libvirt's own block migration: the hook at a lets it in (agent up, refuse-unprepared off there)
            SerialConsole back = dst.successor("lv-a-again", dir.resolve("console-a2.log"));
            long t0 = System.nanoTime();
            virsh("b", "virsh", "-c", "qemu:///system", "migrate", "--live", "--copy-storage-all", "--p2p", "--persistent",
                    "--undefinesource", DOMAIN, URI_A);
            var backChange = io.vmmig.testkit.Heartbeats.of(dst.lines(), back.lines()).consoleChanges();
            System.out.println("virsh migrate --live --copy-storage-all back: " + (System.nanoTime() - t0) / 1_000_000 + " ms, heartbeat gap "
                    + backChange.stream().map(g -> g.host().toMillis() + " ms").toList() + " (host clock), "
                    + backChange.stream().map(g -> g.guest().toMillis() + " ms").toList() + " (guest clock)");
            int mark2 = back.lineCount();
            back.send("verify");
            assertTrue(back.awaitLine(Pattern.compile("^VERIFY (OK|FAIL)"), Duration.ofSeconds(60), mark2).text().startsWith("VERIFY OK"),
                    back.tailText(10));
        }
    }

    private static String domainXml(Workload w, Path serial) {
        return io.vmmig.testkit.GuestDomainXml.of(DOMAIN, 128, w, serial, java.util.List.of(new io.vmmig.testkit.GuestDomainXml.Disk("qcow2", String.valueOf(IMAGE), "vda")));
    }

    /** Runs CMD in lab host {@code h}'s namespaces; its stdout, or a failure with its stderr. */
    private static String virsh(String h, String... cmd) throws Exception {
        List<String> argv = new ArrayList<>(List.of(lab.toString(), "exec", h));
        argv.addAll(List.of(cmd));
        return run(argv);
    }

    /** Runs CMD in lab host {@code h}'s namespaces expecting it to fail; its output. */
    private static String tryVirsh(String h, String... cmd) throws Exception {
        List<String> argv = new ArrayList<>(List.of(lab.toString(), "exec", h));
        argv.addAll(List.of(cmd));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(5, TimeUnit.MINUTES);
        assertTrue(p.exitValue() != 0, argv + " should have failed: " + out);
        return out;
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
