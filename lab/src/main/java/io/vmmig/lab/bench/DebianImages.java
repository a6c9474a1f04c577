package io.vmmig.lab.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmmig.testkit.DiskImage;
import io.vmmig.testkit.HostCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The Debian images {@code lab/images/build-debian-images} builds (debootstrap bookworm on one ext4 base,
 * two package sets): {@code vm.qcow2}, the migrating VM's disk, and {@code neighbour.qcow2}, another VM of
 * the same distro that the destination holds.
 */
record DebianImages(Path dir, DiskImage vm, DiskImage neighbour) {
    static final Path DEFAULT_DIR = Path.of("/var/cache/vmmig-lab/debian-images");

    /** The images in {@code dir}, or why they cannot be used (naming the file and how to build it). */
    static DebianImages in(Path dir) {
        Path vm = dir.resolve("vm.qcow2");
        Path neighbour = dir.resolve("neighbour.qcow2");
        Optional<Path> missing = java.util.stream.Stream.of(vm, neighbour).filter(p -> !Files.isRegularFile(p)).findFirst();
        if (missing.isPresent())
            throw new IllegalArgumentException("no Debian image " + missing.get() + ": build them with `sudo lab/images/build-debian-images`"
                    + " (VMMIG_DEBIAN_IMAGES=" + dir + "), about 4 minutes");
        return new DebianImages(dir, qcow2(vm), qcow2(neighbour));
    }

    private static DiskImage qcow2(Path p) {
        try {
            JsonNode info = new ObjectMapper().readTree(HostCommand.run("qemu-img", "info", "-U", "--output=json", p.toString()));
            if (!"qcow2".equals(info.path("format").asText()))
                throw new IllegalArgumentException(p + " is " + info.path("format").asText() + ", not qcow2");
            return new DiskImage(p, DiskImage.Format.QCOW2, info.path("virtual-size").asLong());
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read qemu-img info of " + p + ": " + e.getMessage(), e);
        }
    }

    /** Bytes allocated in {@code image}'s file (what a migration of its top layer reads at most). */
    static long allocatedBytes(DiskImage image) {
        try {
            JsonNode info = new ObjectMapper().readTree(HostCommand.run("qemu-img", "info", "-U", "--output=json", image.path().toString()));
            return info.path("actual-size").asLong();
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read qemu-img info of " + image.path() + ": " + e.getMessage(), e);
        }
    }
}
