package io.vmmig.it.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
}
