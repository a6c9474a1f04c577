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
 * The command line of a running QEMU (from {@code /proc/PID/cmdline}) and its rewriting into the
 * destination's: the same machine, devices, kernel and chardevs, with the migrated disk's
 * {@code -blockdev} nodes replaced by the destination strategy's, the destination agent's own QMP
 * monitor, and {@code -incoming defer}. Paths in it (kernel, chardev sockets, backing files) must
 * exist at the destination, as with libvirt.
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

    /**
     * The destination's arguments (without the binary): this command line minus the monitors, any
     * {@code -incoming}, {@code -daemonize}, {@code -pidfile}, {@code -S}, and the {@code -blockdev} nodes
     * of the disk rooted at {@code diskNode} (the destination strategy adds its own, with the same root
     * node name); the guest device of that node gets {@code share-rw=on} (the destination agent opens
     * the image beside QEMU until the pivot).
     */
    public List<String> destinationArgs(String diskNode) throws AgentException {
        List<String> args = new ArrayList<>();
        Map<String, BlockdevSpec> nodes = new HashMap<>();
        Set<String> monitorChardevs = new LinkedHashSet<>();
        for (int i = 1; i < argv.size(); i++) {
            String o = option(argv.get(i));
            if ((o.equals("-blockdev")) && i + 1 < argv.size()) {
                BlockdevSpec b = BlockdevSpec.parse(argv.get(i + 1));
                if (b.nodeName() != null) nodes.put(b.nodeName(), b);
            }
            if (o.equals("-mon") && i + 1 < argv.size()) {
                for (String kv : BlockdevSpec.splitOptions(argv.get(i + 1)))
                    if (kv.startsWith("chardev=")) monitorChardevs.add(kv.substring(8));
            }
        }
        if (!nodes.containsKey(diskNode))
            throw new AgentException(ErrorKind.ENVIRONMENT, "the disk node '" + diskNode + "' is not defined by a -blockdev on the"
                    + " QEMU command line (pid " + pid + "); vmmig needs disks defined with -blockdev and node names, not -drive");
        Set<String> diskNodes = new LinkedHashSet<>();
        Deque<String> todo = new ArrayDeque<>(List.of(diskNode));
        while (!todo.isEmpty()) {
            String n = todo.pop();
            BlockdevSpec b = nodes.get(n);
            if (b != null && diskNodes.add(n)) todo.addAll(b.children());
        }
        boolean deviceFound = false;
        for (int i = 1; i < argv.size(); i++) {
            String a = argv.get(i);
            String o = option(a);
            String next = i + 1 < argv.size() ? argv.get(i + 1) : null;
            switch (o) {
                case "-qmp", "-qmp-pretty", "-monitor", "-mon", "-incoming", "-pidfile" -> {
                    i++;
                    continue;
                }
                case "-daemonize", "-S" -> {
                    continue;
                }
                case "-blockdev" -> {
                    if (next != null && diskNodes.contains(BlockdevSpec.parse(next).nodeName())) {
                        i++;
                        continue;
                    }
                }
                case "-chardev" -> {
                    if (next != null && monitorChardevs.stream().anyMatch(id -> BlockdevSpec.splitOptions(next).contains("id=" + id))) {
                        i++;
                        continue;
                    }
                }
                case "-device" -> {
                    if (next != null && BlockdevSpec.splitOptions(next).contains("drive=" + diskNode)) {
                        deviceFound = true;
                        args.add(a);
                        args.add(BlockdevSpec.splitOptions(next).stream().anyMatch(kv -> kv.startsWith("share-rw="))
                                ? next.replaceAll("share-rw=[a-z]+", "share-rw=on") : next + ",share-rw=on");
                        i++;
                        continue;
                    }
                }
                default -> { }
            }
            args.add(a);
        }
        if (!deviceFound)
            throw new AgentException(ErrorKind.ENVIRONMENT, "no -device uses drive=" + diskNode + " on the QEMU command line (pid " + pid + ")");
        return args;
    }

    /** {@code --opt} and {@code -opt} are the same QEMU option. */
    private static String option(String a) {
        return a.startsWith("--") ? a.substring(1) : a;
    }
}
