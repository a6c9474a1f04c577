package io.vmmig.testkit.net;

import io.vmmig.testkit.TestKitException;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs {@code ip}, {@code tc} and friends to completion; fails naming the command and its output. */
final class LabCommand {
    static final Duration TIMEOUT = Duration.ofSeconds(20);

    private LabCommand() {
    }

    /** Runs {@code argv}; returns stdout+stderr; throws {@link TestKitException} on a non-zero exit or timeout. */
    static String run(List<String> argv) {
        Result r = attempt(argv);
        if (r.exitCode() != 0) {
            throw new TestKitException("'" + String.join(" ", argv) + "' exited with " + r.exitCode()
                    + "; output: " + tail(r.output()));
        }
        return r.output();
    }

    /** Runs {@code argv} and returns its exit code and output whatever they are (cleanup paths). */
    static Result attempt(List<String> argv) {
        Path out = null;
        try {
            out = Files.createTempFile("vmmig-lab", ".out");
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                throw new TestKitException("'" + String.join(" ", argv) + "' did not finish within " + TIMEOUT
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

    static String tail(String text) {
        return text.length() <= 2000 ? text : "..." + text.substring(text.length() - 2000);
    }

    /** Exit code and combined output of a finished command. */
    record Result(int exitCode, String output) {
    }
}
