package io.vmmig.hooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the real hook script (src/main/sh/50-vmmig) as libvirt does: argv DOMAIN OP SUBOP EXTRA, the
 * domain XML on stdin, libvirt's small environment, with a {@code logger} on PATH that records its
 * arguments, and a config pointing at a control socket in a temporary directory.
 */
class QemuHookTest {
    private static final Path SCRIPT = Path.of("src/main/sh/50-vmmig").toAbsolutePath();
    private static final String XML = "<domain type='kvm'><name>web1</name></domain>\n";

    @TempDir
    Path dir;
    private Path socket;
    private Path conf;
    private Path logged;

    @BeforeEach
    void setUp() throws IOException {
        socket = dir.resolve("control.sock");
        conf = dir.resolve("vmmig.conf");
        Files.writeString(conf, "# listen = 0.0.0.0:7410\ncontrol-socket = " + socket + "   # the CLI's socket\n");
        logged = dir.resolve("logged");
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path logger = bin.resolve("logger");
        Files.writeString(logger, "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '" + logged + "'\n");
        Files.setPosixFilePermissions(logger, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void everyOperationButMigrateBeginPassesEvenWithoutAnAgent() throws Exception {
        for (String[] call : List.of(new String[] {"web1", "prepare", "begin", "-"}, new String[] {"web1", "start", "begin", "-"},
                new String[] {"web1", "started", "begin", "-"}, new String[] {"web1", "reconnect", "begin", "-"},
                new String[] {"web1", "stopped", "end", "-"}, new String[] {"web1", "release", "end", "migrated"},
                new String[] {"web1", "migrate", "end", "-"}, new String[] {"web1", "restore", "begin", "-"})) {
            Run r = run(XML, call);
            assertEquals(0, r.exit, String.join(" ", call) + ": " + r.stderr);
            assertEquals("", r.stdout, "nothing on stdout");
        }
        List<String> lines = Files.readAllLines(logged);
        assertEquals(8, lines.size(), lines.toString());
        assertTrue(lines.contains("-t vmmig-hook -- domain=web1 op=reconnect subop=begin extra=-: nothing to check"), lines.toString());
        assertTrue(lines.contains("-t vmmig-hook -- domain=web1 op=release subop=end extra=migrated: nothing to check"), lines.toString());
    }

    @Test
    void migrateBeginIsRefusedWhenTheControlSocketIsAbsent() throws Exception {
        Run r = run(XML, "web1", "migrate", "begin", "-");
        assertEquals(1, r.exit);
        assertEquals("", r.stdout);
        assertEquals("vmmig-hook: refusing incoming migration of web1: the vmmig agent's control socket " + socket
                + " does not exist (is vmmig-agent running?)\n", r.stderr);
        assertTrue(Files.readString(logged).contains("domain=web1 op=migrate subop=begin: refused: "), Files.readString(logged));
    }

    @Test
    void migrateBeginIsRefusedWhenNothingListensOnTheSocketFile() throws Exception {
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket), "closing a UNIX server channel leaves its file");
        Run r = run(XML, "web1", "migrate", "begin", "-");
        assertEquals(1, r.exit);
        assertTrue(r.stderr.contains("nothing listens on the vmmig agent's control socket " + socket), r.stderr);
    }

    @Test
    void migrateBeginPassesWhenTheAgentListensAndLeavesTheXmlUnchanged() throws Exception {
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(socket));
            // a definition far larger than a pipe buffer: the hook reads it all, libvirt never blocks
            String big = "<domain>" + "<!-- padding -->".repeat(64 * 1024) + "</domain>\n";
            Run r = run(big, "web1", "migrate", "begin", "-");
            assertEquals(0, r.exit, r.stderr);
            assertEquals("", r.stdout, "empty stdout: libvirt keeps the XML as it is");
            assertTrue(Files.readString(logged).contains("vmmig agent listening on " + socket), Files.readString(logged));
        }
    }

    @Test
    void withRefuseUnpreparedOnlyAMigrationTheAgentPreparedPasses() throws Exception {
        Path state = Files.createDirectories(dir.resolve("state"));
        Files.writeString(conf, "control-socket = " + socket + "\nstate-dir = " + state + "\nlibvirt.hook-refuse-unprepared = true\n");
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(socket));
            Run refused = run(XML, "web1", "migrate", "begin", "-");
            assertEquals(1, refused.exit, refused.stderr);
            assertTrue(refused.stderr.contains("refusing incoming migration of web1: the vmmig agent prepared no incoming migration of web1"),
                    refused.stderr);
            Files.createDirectories(state.resolve("libvirt-incoming"));
            Files.writeString(state.resolve("libvirt-incoming").resolve("web1"), "m-1\n");
            Run passed = run(XML, "web1", "migrate", "begin", "-");
            assertEquals(0, passed.exit, passed.stderr);
            assertEquals(1, run(XML, "../web1", "migrate", "begin", "-").exit, "a name with a slash is never looked up");
        }
    }

    @Test
    void withoutRefuseUnpreparedAnUnpreparedMigrationPassesWhenTheAgentListens() throws Exception {
        Files.writeString(conf, "control-socket = " + socket + "\nstate-dir = " + dir.resolve("nothing-here") + "\n");
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(socket));
            assertEquals(0, run(XML, "web1", "migrate", "begin", "-").exit);
        }
    }

    @Test
    void theDefaultSocketIsUsedWhenTheConfigDoesNotNameOne() throws Exception {
        Files.writeString(conf, "# control-socket = /run/vmmig/control.sock\nlisten = 0.0.0.0:7410  # set up\n");
        Run r = run(XML, "web1", "migrate", "begin", "-");
        if (Files.exists(Path.of("/run/vmmig/control.sock"))) return; // an agent runs on this machine: nothing to assert
        assertEquals(1, r.exit);
        assertTrue(r.stderr.contains("control socket /run/vmmig/control.sock does not exist"), r.stderr);
    }

    @Test
    void migrateBeginPassesWhereVmmigIsNotConfigured() throws Exception {
        // as the package ships it: every setting commented out (a fresh install must not stop libvirt's migrations)
        Files.writeString(conf, "# vmmig.conf\n\n# listen = 0.0.0.0:7410\n   # control-socket = " + socket + "\n");
        Run shipped = run(XML, "web1", "migrate", "begin", "-");
        assertEquals(0, shipped.exit, shipped.stderr);
        assertEquals("", shipped.stdout);
        Files.delete(conf);
        Run none = run(XML, "web1", "migrate", "begin", "-");
        assertEquals(0, none.exit, none.stderr);
        List<String> lines = Files.readAllLines(logged);
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(0).contains("op=migrate subop=begin: vmmig is not configured here (" + conf + " has no setting)"),
                lines.toString());
    }

    @Test
    void aWriterThatNeverClosesStdinDoesNotHoldTheHook() throws Exception {
        Process p = start("web1", "start", "begin", "-");
        p.getOutputStream().write(XML.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().flush(); // and never closed
        long t0 = System.nanoTime();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the hook ends on its own");
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertEquals(0, p.exitValue());
        assertTrue(took.compareTo(Duration.ofSeconds(4)) > 0, "it waited for stdin within its bound (5 s), took " + took);
        p.getOutputStream().close();
    }

    private Process start(String... argv) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(SCRIPT.toString()));
        cmd.addAll(List.of(argv));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().put("PATH", dir.resolve("bin") + ":/usr/sbin:/usr/bin:/sbin:/bin");
        pb.environment().put("LC_ALL", "C");
        pb.environment().put("VMMIG_CONF", conf.toString());
        pb.redirectOutput(dir.resolve("stdout").toFile()).redirectError(dir.resolve("stderr").toFile());
        return pb.start();
    }

    private Run run(String stdin, String... argv) throws Exception {
        Process p = start(argv);
        try (OutputStream in = p.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "hook finished");
        return new Run(p.exitValue(), Files.readString(dir.resolve("stdout")), Files.readString(dir.resolve("stderr")));
    }

    private record Run(int exit, String stdout, String stderr) {
    }
}
