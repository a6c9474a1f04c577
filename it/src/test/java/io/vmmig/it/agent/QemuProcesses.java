package io.vmmig.it.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** QEMU processes of this host, from /proc. */
final class QemuProcesses {
    private QemuProcesses() {
    }

    /** Kills every qemu-system process with {@code text} in its command line (destination QEMUs an agent kept). */
    static void killMentioning(String text) {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).forEach(p -> {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    if (cmd.startsWith("qemu-system") && cmd.contains(text))
                        ProcessHandle.of(Long.parseLong(p.getFileName().toString())).ifPresent(ProcessHandle::destroyForcibly);
                } catch (IOException e) {
                    // gone
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether a live qemu-system process has {@code text} in its command line. */
    static boolean anyMentions(String text) {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            return procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).anyMatch(p -> {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    return cmd.startsWith("qemu-system") && cmd.contains(text);
                } catch (IOException e) {
                    return false;
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The pid of the one live qemu-system process with {@code text} in its command line. */
    static long pidMentioning(String text) {
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            List<Long> pids = procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).filter(p -> {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    return cmd.startsWith("qemu-system") && cmd.contains(text);
                } catch (IOException e) {
                    return false;
                }
            }).map(p -> Long.parseLong(p.getFileName().toString())).toList();
            if (pids.size() != 1) throw new IllegalStateException(pids.size() + " QEMU processes mention " + text + ": " + pids);
            return pids.get(0);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A process's command line, as QEMU got it. */
    static List<String> argv(long pid) throws IOException {
        return List.of(new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8).split("\0"));
    }

    /** A field of /proc/PID/status ({@code Seccomp}: 2 is a filter in force; {@code Uid}: real, effective, saved, fs). */
    static String status(long pid, String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status")))
            if (l.startsWith(field + ":")) return l.substring(field.length() + 1).strip();
        throw new IllegalStateException("no " + field + " in /proc/" + pid + "/status");
    }
}
