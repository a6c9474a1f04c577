package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vmmig.agent.Main;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentCommand;
import io.vmmig.it.migration.Poll;
import io.vmmig.testkit.net.JavaCommand;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The control socket of a real agent process (no VM needed): who may use it ({@code control-socket.group},
 * the CLI run as another user with {@code setpriv}), what the audit log says about the caller, a
 * {@code control-socket} path that names a regular file (refused at start, the file intact), and 1000 idle
 * control connections (the agent's thread count stays where it was; each is closed after the idle timeout).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ControlSocketIT {
    /** A group nobody (65534) is not in, on every Debian (gid 100). */
    static final String GROUP = "users";
    static final int NOBODY = 65534;

    /** World-readable (0755): nobody must reach the socket and the CLI's class path (the build's lives under /root). */
    static Path base;
    static String classPath;
    static int groupGid;
    static AgentProcess agent;
    static Path socket;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "runs the CLI as another user: needs root");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv (util-linux)");
        base = Files.createTempDirectory("vmmig-control-it-");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        groupGid = gidOf(GROUP);
        classPath = worldReadableClassPath(base.resolve("cp"));
        Path home = Files.createDirectories(base.resolve("agent"));
        socket = home.resolve("run/control.sock");
        agent = start(home, socket, List.of("control-socket.group = " + GROUP, "control-socket.max-connections = 1000",
                "control-socket.idle-timeout = 20"));
    }

    @AfterAll
    static void stop() throws IOException {
        if (agent != null) agent.close();
        if (base != null) {
            try (Stream<Path> all = Files.walk(base)) {
                all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static int gidOf(String group) throws IOException {
        for (String l : Files.readAllLines(Path.of("/etc/group"))) {
            String[] f = l.split(":");
            if (f.length >= 3 && f[0].equals(group)) return Integer.parseInt(f[2]);
        }
        throw new IllegalStateException("no group " + group + " in /etc/group");
    }

    static AgentProcess start(Path home, Path controlSocket, List<String> extra) throws Exception {
        int port = AgentHosts.freePort();
        List<String> conf = new ArrayList<>(List.of("listen = 127.0.0.1:" + port, "insecure = true",
                "state-dir = " + home.resolve("state"), "control-socket = " + controlSocket,
                "image-dirs = " + Files.createDirectories(home.resolve("images"))));
        conf.addAll(extra);
        Path config = home.resolve("vmmig.conf");
        Files.write(config, conf);
        Files.createDirectories(controlSocket.getParent());
        Files.setPosixFilePermissions(controlSocket.getParent(), PosixFilePermissions.fromString("rwxr-xr-x"));
        return AgentProcess.start("control", config, controlSocket, port, home.resolve("agent.log"));
    }

    /** This JVM's class path copied where any user can read it (files 0644, directories 0755). */
    static String worldReadableClassPath(Path into) throws IOException {
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path from = Path.of(e);
            if (!Files.exists(from)) continue;
            Path to = into.resolve((i++) + "-" + from.getFileName());
            try (Stream<Path> all = Files.walk(from)) {
                for (Path p : (Iterable<Path>) all::iterator) {
                    Path t = to.resolve(from.relativize(p).toString());
                    if (Files.isDirectory(p)) Files.createDirectories(t);
                    else {
                        Files.createDirectories(t.getParent());
                        Files.copy(p, t);
                    }
                    Files.setPosixFilePermissions(t, PosixFilePermissions.fromString(Files.isDirectory(t) ? "rwxr-xr-x" : "rw-r--r--"));
                }
            }
            entries.add(to.toString());
        }
        for (Path d = into; d != null && d.startsWith(base); d = d.getParent())
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        return String.join(java.io.File.pathSeparator, entries);
    }

    /** {@code vmmig ARGS --socket SOCKET} run through {@code setpriv CREDENTIALS}. */
    static Cli.Result cliAs(List<String> credentials, List<String> args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("/usr/bin/setpriv"));
        argv.addAll(credentials);
        argv.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Djava.io.tmpdir=" + base, "-cp", classPath, Main.class.getName()));
        argv.addAll(args);
        argv.addAll(List.of("--socket", socket.toString()));
        Process p = new ProcessBuilder(argv).directory(base.toFile()).redirectErrorStream(false).start();
        p.getOutputStream().close();
        List<String> out = new ArrayList<>();
        StringBuilder err = new StringBuilder();
        Thread errReader = new Thread(() -> {
            try {
                err.append(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                err.append(e);
            }
        });
        errReader.start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) out.add(line);
        }
        assertTrue(p.waitFor(2, TimeUnit.MINUTES), "vmmig " + args + " ended");
        errReader.join();
        return new Cli.Result(p.exitValue(), out, err.toString());
    }

    static List<String> nobody(int gid, String... more) {
        List<String> c = new ArrayList<>(List.of("--reuid=" + NOBODY, "--regid=" + gid));
        c.addAll(List.of(more));
        if (more.length == 0) c.add("--clear-groups");
        return c;
    }

    @Test
    void theGroupsMembersMayUseTheSocketOthersAreRefusedAndTheAuditLogNamesTheCaller() throws Exception {
        PosixFileAttributes a = Files.readAttributes(socket, PosixFileAttributes.class);
        assertEquals("rw-rw----", PosixFilePermissions.toString(a.permissions()));
        assertEquals(GROUP, a.group().getName());

        // nobody, in no group of the socket: the kernel refuses the connect; the CLI says who may
        Cli.Result outsider = cliAs(nobody(NOBODY), List.of("list"));
        assertEquals(ErrorKind.UNREACHABLE.exitCode, outsider.exitCode(), outsider.stderr());
        assertTrue(outsider.stderr().contains("permission denied (the control socket is for root and the members of group " + GROUP),
                outsider.stderr());

        // a member (its group is the socket's): served
        Cli.Result member = cliAs(nobody(groupGid), List.of("list", "--json"));
        assertEquals(0, member.exitCode(), member.stderr());
        assertTrue(member.events().get(0) instanceof ControlEvent.Listing, member.stdout().toString());

        // the group only as a supplementary group that the group database does not give nobody: the file mode
        // lets it connect, the agent's own check (SO_PEERCRED, the database) refuses it and says why
        Cli.Result sneaky = cliAs(nobody(NOBODY, "--groups=" + groupGid), List.of("list"));
        assertEquals(ErrorKind.UNAUTHORIZED.exitCode, sneaky.exitCode(), sneaky.stderr());
        assertTrue(sneaky.stderr().contains("uid 65534 (nobody) may not use the control socket " + socket
                + ": it is for root and the members of group " + GROUP), sneaky.stderr());
        Poll.until("the audit line of the refusal", Duration.ofSeconds(10), () -> agent.logText().lines().anyMatch(l ->
                l.contains("WARN audit - event=control-refused caller=\"uid=65534(nobody) gid=65534(")));

        // a member's cancel: the audit log has its uid, whatever became of the request
        Cli.Result cancel = cliAs(nobody(groupGid), List.of("cancel", "m-0badc0de"));
        assertEquals(ErrorKind.NOT_FOUND.exitCode, cancel.exitCode(), cancel.stderr());
        String expected = "event=cancel migration=m-0badc0de caller=\"uid=65534(nobody) gid=" + groupGid + "(" + GROUP + ")\" result=\"refused:";
        Poll.until("the audit line of the cancel", Duration.ofSeconds(10), () -> agent.logText().contains(expected));
        System.out.println("audit lines:\n" + String.join("\n", agent.logText().lines().filter(l -> l.contains(" audit - ")).toList()));
    }

    @Test
    void aControlSocketPathThatIsARegularFileIsRefusedAtStartAndLeftIntact() throws Exception {
        Path home = Files.createDirectories(base.resolve("typo"));
        Path precious = Files.writeString(home.resolve("vmmig.conf.bak"), "listen = 0.0.0.0:7410\n# the operator's file\n");
        Path config = home.resolve("vmmig.conf");
        Files.write(config, List.of("listen = 127.0.0.1:" + AgentHosts.freePort(), "insecure = true", "state-dir = " + home.resolve("state"),
                "control-socket = " + precious, "image-dirs = " + Files.createDirectories(home.resolve("images"))));
        Process p = new ProcessBuilder(JavaCommand.of(Main.class, List.of("agent", "--config", config.toString())))
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES));
        assertEquals(AgentCommand.EXIT_CONFIG, p.exitValue(), output);
        assertTrue(output.contains("vmmig agent: control-socket = " + precious + ": a regular file is there, not a socket; the agent"
                + " neither uses nor removes it"), output);
        assertEquals("listen = 0.0.0.0:7410\n# the operator's file\n", Files.readString(precious), "the file intact");
    }

    static int threads(long pid) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status")))
            if (l.startsWith("Threads:")) return Integer.parseInt(l.substring(8).strip());
        throw new IllegalStateException("no Threads: line for " + pid);
    }

    @Test
    void aThousandIdleControlConnectionsHoldNoThreadsAndAreClosedAfterTheIdleTimeout() throws Exception {
        assertEquals(0, Cli.run(socket, List.of("list")).exitCode());   // the control path warmed up
        int before = threads(agent.pid());
        List<SocketChannel> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 1000; i++) idle.add(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
            // the 1001st is answered "too many" at once: the agent holds the thousand (control-socket.max-connections = 1000)
            try (SocketChannel extra = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                extra.write(ByteBuffer.wrap("{\"op\":\"list\"}\n".getBytes(StandardCharsets.UTF_8)));
                String answer = new BufferedReader(new InputStreamReader(java.nio.channels.Channels.newInputStream(extra),
                        StandardCharsets.UTF_8)).readLine();
                ControlEvent.Failure f = (ControlEvent.Failure) ControlCodec.decodeEvent(answer);
                assertTrue(f.message().contains("control-socket.max-connections = 1000"), f.message());
            }
            int during = threads(agent.pid());
            System.out.printf("agent threads: %d before, %d with 1000 idle control connections open%n", before, during);
            assertTrue(during <= before + 4, "1000 idle connections, threads " + before + " -> " + during);

            // each is closed by the agent after the idle timeout (20 s): end of stream, no answer
            long started = System.nanoTime();
            ByteBuffer b = ByteBuffer.allocate(16);
            for (SocketChannel ch : idle) {
                b.clear();
                assertEquals(-1, ch.read(b), "closed without a word");
            }
            System.out.printf("all 1000 closed by the agent %.1f s after the last connect%n", (System.nanoTime() - started) / 1e9);
        } finally {
            for (SocketChannel ch : idle) ch.close();
        }
        assertEquals(0, Cli.run(socket, List.of("list")).exitCode(), "still serves");
        assertTrue(threads(agent.pid()) <= before + 4);
    }
}
