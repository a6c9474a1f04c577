package io.vmmig.nbd.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a host tool (qemu-img, qemu-io, kill...) to completion with a deadline, failing on a non-zero exit. */
final class HostCommand {
    private HostCommand() {}

    static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) throw new IOException("timed out: " + List.of(cmd));
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.exitValue() != 0) throw new IOException(List.of(cmd) + " exited with " + p.exitValue() + ": " + out);
            return out;
        } finally {
            p.destroyForcibly();
        }
    }
}
