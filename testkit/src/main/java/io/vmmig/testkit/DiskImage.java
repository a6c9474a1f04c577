package io.vmmig.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * A disk image file for the guest, created with {@code qemu-img}, and the QEMU arguments that attach it
 * as the guest's {@code /dev/vda} ({@code virtio-blk-pci}).
 *
 * @param path      the image file
 * @param format    raw or qcow2
 * @param sizeBytes virtual size
 */
public record DiskImage(Path path, Format format, long sizeBytes) {
    /** Image format. */
    public enum Format {
        RAW, QCOW2;

        /** The name QEMU uses. */
        public String qemuName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Creates the image with {@code qemu-img create -f <format> <path> <size>}. */
    public static DiskImage create(Path path, Format format, long sizeBytes) {
        return create(path, format, sizeBytes, null);
    }

    /** Same, with {@code qemu-img create -o options} (null: none). */
    public static DiskImage create(Path path, Format format, long sizeBytes, String options) {
        List<String> cmd = new java.util.ArrayList<>(List.of("qemu-img", "create", "-q", "-f", format.qemuName()));
        if (options != null) cmd.addAll(List.of("-o", options));
        cmd.add(path.toString());
        cmd.add(Long.toString(sizeBytes));
        HostCommand.run(null, Duration.ofSeconds(60), cmd);
        return new DiskImage(path, format, sizeBytes);
    }

    /** Node names {@code disk0-file} (file) and {@code disk0} (format), device id {@code vda}. */
    public List<String> qemuArgs() {
        return qemuArgs("disk0", "vda");
    }

    /**
     * {@code -blockdev} for the file ({@code <node>-file}) and the format ({@code <node>}), and a
     * {@code virtio-blk-pci} device with id {@code deviceId} on it.
     */
    public List<String> qemuArgs(String node, String deviceId) {
        String file = "{\"driver\":\"file\",\"filename\":\"" + json(path.toAbsolutePath().toString())
                + "\",\"node-name\":\"" + node + "-file\"}";
        String fmt = "{\"driver\":\"" + format.qemuName() + "\",\"file\":\"" + node + "-file\",\"node-name\":\"" + node + "\"}";
        return List.of("-blockdev", file, "-blockdev", fmt, "-device", "virtio-blk-pci,drive=" + node + ",id=" + deviceId);
    }

    private static String json(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
