package io.vmmig.agent.vm;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The command line of a running QEMU (from {@code /proc/PID/cmdline}), which the source agent reads into
 * a {@link VmDescription} ({@link CommandLineDescriber}); the destination never sees it.
 */
public final class QemuCommandLine {
    private final long pid;
    private final List<String> argv;

    public QemuCommandLine(long pid, List<String> argv) {
        this.pid = pid;
        this.argv = List.copyOf(argv);
    }

    public long pid() {
        return pid;
    }

    public List<String> argv() {
        return argv;
    }

    /** The QEMU process whose command line names {@code qmpSocket}. */
    public static QemuCommandLine ofProcessServing(Path qmpSocket) throws AgentException {
        String needle = qmpSocket.toAbsolutePath().normalize().toString();
        List<QemuCommandLine> found = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) continue;
                List<String> args;
                try {
                    args = split(Files.readAllBytes(p.resolve("cmdline")));
                } catch (IOException e) {
                    continue;   // exited meanwhile, or not ours to read
                }
                if (args.isEmpty() || !Path.of(args.get(0)).getFileName().toString().startsWith("qemu-system")) continue;
                if (args.stream().anyMatch(a -> mentions(a, needle))) found.add(new QemuCommandLine(Long.parseLong(name), args));
            }
        } catch (IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "cannot list /proc: " + e.getMessage(), e);
        }
        if (found.isEmpty())
            throw new AgentException(ErrorKind.NOT_FOUND, "no QEMU process on this host has " + needle
                    + " on its command line (vmmig starts the destination QEMU from the source's command line)");
        if (found.size() > 1)
            throw new AgentException(ErrorKind.ENVIRONMENT, "several QEMU processes name " + needle + ": pids "
                    + found.stream().map(q -> Long.toString(q.pid)).toList());
        return found.get(0);
    }

    private static boolean mentions(String arg, String path) {
        int i = arg.indexOf(path);
        if (i < 0) return false;
        int end = i + path.length();
        return end == arg.length() || arg.charAt(end) == ',';
    }

    private static List<String> split(byte[] cmdline) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < cmdline.length; i++) {
            if (cmdline[i] == 0) {
                out.add(new String(cmdline, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start < cmdline.length) out.add(new String(cmdline, start, cmdline.length - start, StandardCharsets.UTF_8));
        return out;
    }
}
