package io.vmmig.it.migration;

import io.vmmig.testkit.DiskImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The host's {@code qemu-img}/{@code qemu-io} for image chains in tests: base images and overlays. */
public final class QemuImg {
    private QemuImg() {
    }

    /** A qcow2 overlay at {@code path} over the qcow2 {@code base} (same virtual size). */
    public static DiskImage overlay(Path path, DiskImage base) {
        run(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.path().toString(), "-F", "qcow2",
                path.toString(), Long.toString(base.sizeBytes())));
        return new DiskImage(path, DiskImage.Format.QCOW2, base.sizeBytes());
    }

    /** Writes {@code length} bytes of {@code pattern} at {@code offset} into a qcow2 image not in use. */
    public static void fill(DiskImage image, int pattern, long offset, long length) {
        run(List.of("qemu-io", "-f", "qcow2", "-c", "write -q -P " + pattern + " " + offset + " " + length,
                image.path().toString()));
    }

    /** Runs a host command, returns its output; fails naming the command and its output. */
    public static String run(List<String> argv) {
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(argv + " did not finish within 60 s");
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.exitValue() != 0) throw new IllegalStateException(argv + " exited " + p.exitValue() + ": " + out);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("running " + argv + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + argv, e);
        }
    }
}
