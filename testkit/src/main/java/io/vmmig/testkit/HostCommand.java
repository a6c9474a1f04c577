package io.vmmig.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a host tool (apt-get, dpkg, gcc, qemu-img...) to completion and fails with its output if it fails. */
public final class HostCommand {
    private HostCommand() {
    }

    /** Runs {@code argv} with a one-minute deadline; returns its stdout+stderr; throws naming the command on failure. */
    public static String run(String... argv) {
        return run(null, Duration.ofMinutes(1), List.of(argv));
    }

    /** Runs {@code argv} in {@code workDir}; returns its stdout+stderr; throws naming the command on failure. */
    public static String run(Path workDir, Duration timeout, List<String> argv) {
        Result r = attempt(workDir, timeout, argv);
        if (r.exitCode() != 0) {
            throw new TestKitException("'" + String.join(" ", argv) + "' exited with " + r.exitCode()
                    + "; output: " + tail(r.output()));
        }
        return r.output();
    }

    /**
     * Runs {@code argv} in {@code workDir} and returns its exit code and stdout+stderr whatever they are
     * (for cleanup paths); throws only if it cannot run or does not finish in time.
     */
    public static Result attempt(Path workDir, Duration timeout, List<String> argv) {
        Path out = null;
        try {
            out = Files.createTempFile("vmmig-cmd", ".out");
            Process p = new ProcessBuilder(argv).directory(workDir == null ? null : workDir.toFile())
                    .redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                throw new TestKitException("'" + String.join(" ", argv) + "' did not finish within " + timeout
                        + "; output: " + tail(Files.readString(out, StandardCharsets.UTF_8)));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new TestKitException("cannot run '" + String.join(" ", argv) + "': " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TestKitException("interrupted while running '" + String.join(" ", argv) + "'", e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a leftover temp file is harmless
                }
            }
        }
    }

    /** Exit code and combined output of a finished command. */
    public record Result(int exitCode, String output) {
    }

    public static String tail(String text) {
        return text.length() <= 2000 ? text : "..." + text.substring(text.length() - 2000);
    }
}
