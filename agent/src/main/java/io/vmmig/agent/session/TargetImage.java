package io.vmmig.agent.session;

import io.vmmig.agent.config.AgentConfig;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The destination image of a migration: where it goes (inside one of the agent's image directories,
 * never over an existing file), whether it fits, and its creation and removal.
 */
final class TargetImage {
    /** Room kept beyond the source's allocation for format metadata. */
    static final long METADATA_MARGIN = 16L << 20;

    private final Path path;
    private boolean created;

    private TargetImage(Path path) {
        this.path = path;
    }

    Path path() {
        return path;
    }

    /**
     * Plans every disk's image: each checked against this agent's rules, two disks never on one path,
     * and all of them together against the free space of their directories; creates nothing.
     */
    static java.util.List<TargetImage> planAll(AgentConfig config, PeerMessage.Prepare p) throws AgentException {
        if (p.disks().isEmpty()) throw new AgentException(ErrorKind.BAD_REQUEST, "a prepare without disks");
        if (p.target() != null && p.disks().size() > 1)
            throw new AgentException(ErrorKind.BAD_REQUEST, "a target path names one image, but the VM brings " + p.disks().size()
                    + " disks; leave it out (each disk goes to the image directory under its own name)");
        java.util.List<TargetImage> out = new java.util.ArrayList<>();
        java.util.Map<Path, Long> need = new java.util.HashMap<>();
        for (PeerMessage.Disk d : p.disks()) {
            TargetImage t = plan(config, d, p.target());
            for (TargetImage o : out)
                if (o.path.equals(t.path))
                    throw new AgentException(ErrorKind.BAD_REQUEST, "two disks would both go to " + t.path + " (same image file name);"
                            + " rename one at the source");
            out.add(t);
            need.merge(t.path.getParent(), d.allocatedBytes() + METADATA_MARGIN, Long::sum);
        }
        for (java.util.Map.Entry<Path, Long> e : need.entrySet()) {
            try {
                long free = Files.getFileStore(e.getKey()).getUsableSpace();
                if (free < e.getValue())
                    throw new AgentException(ErrorKind.NO_SPACE, "not enough space at the destination: " + e.getKey() + " has "
                            + mib(free) + " free, the " + p.disks().size() + " disks need " + mib(e.getValue()) + " (allocated + margin)");
            } catch (IOException ex) {
                throw new AgentException(ErrorKind.NO_SPACE, "cannot use " + e.getKey() + " at the destination: " + ex.getMessage(), ex);
            }
        }
        return out;
    }

    /** Checks one disk's image against this agent's rules and free space; creates nothing. */
    static TargetImage plan(AgentConfig config, PeerMessage.Disk p, String requestedTarget) throws AgentException {
        if (p.imageName() == null || p.imageName().isEmpty() || p.imageName().contains("/") || p.imageName().startsWith("."))
            throw new AgentException(ErrorKind.BAD_REQUEST, "bad image name '" + p.imageName() + "'");
        Path target = requestedTarget != null ? Path.of(requestedTarget) : config.imageDirs().get(0).resolve(p.imageName());
        if (!target.isAbsolute()) throw new AgentException(ErrorKind.BAD_REQUEST, "target image path '" + requestedTarget + "' is not absolute");
        target = target.normalize();
        Path t = target;
        if (config.imageDirs().stream().noneMatch(d -> t.getParent() != null && t.getParent().startsWith(d.normalize())))
            throw new AgentException(ErrorKind.BAD_REQUEST, "target " + target + " is not in an image directory of the destination agent"
                    + " (image-dirs = " + config.imageDirs() + ")");
        if (Files.exists(target))
            throw new AgentException(ErrorKind.BAD_REQUEST, "target " + target + " already exists at the destination; vmmig never"
                    + " overwrites an image");
        if (p.backingFile() != null && !Files.isRegularFile(Path.of(p.backingFile())))
            throw new AgentException(ErrorKind.ENVIRONMENT, "the disk's backing file " + p.backingFile() + " is missing at the"
                    + " destination (or is not a regular file) (only the top layer moves; copy the base image there first)");
        if (p.backingFile() != null) requireAllowedBacking(config, Path.of(p.backingFile()));
        try {
            Files.createDirectories(target.getParent());
            long free = Files.getFileStore(target.getParent()).getUsableSpace();
            long need = p.allocatedBytes() + METADATA_MARGIN;
            if (free < need)
                throw new AgentException(ErrorKind.NO_SPACE, "not enough space at the destination: " + target.getParent() + " has "
                        + mib(free) + " free, the disk needs " + mib(need) + " (" + mib(p.allocatedBytes()) + " allocated + margin)");
        } catch (IOException e) {
            throw new AgentException(ErrorKind.NO_SPACE, "cannot use " + target.getParent() + " at the destination: " + e.getMessage(), e);
        }
        return new TargetImage(target);
    }

    /**
     * A backing file comes from the peer and the destination opens it (qemu-img, then QEMU): only one whose
     * real path (links resolved) is in {@code image-dirs} or {@code allowed.backing-dirs}.
     */
    static void requireAllowedBacking(AgentConfig config, Path backing) throws AgentException {
        Path real;
        try {
            real = backing.toRealPath();
        } catch (IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "cannot resolve the disk's backing file " + backing + ": " + e.getMessage(), e);
        }
        java.util.List<Path> allowed = new java.util.ArrayList<>(config.imageDirs());
        allowed.addAll(config.qemuPolicy().backingDirs());
        for (Path d : allowed) {
            try {
                if (real.startsWith(d.toRealPath())) return;
            } catch (IOException ignored) {
                // a configured directory that does not exist holds nothing
            }
        }
        throw new AgentException(ErrorKind.REFUSED, "the disk's backing file " + backing + (real.equals(backing) ? "" : " (" + real + ")")
                + " is outside this destination's image-dirs and allowed.backing-dirs " + allowed
                + ": a peer may not make this host open it (add its directory to allowed.backing-dirs)");
    }

    void create(String format, long size, String backing, String options) throws AgentException {
        QemuImgTool.create(path, format, size, backing, options);
        created = true;
    }

    /** Removes the image if this agent created it (a migration that did not switch over). */
    void discard() {
        if (!created) return;
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(TargetImage.class).warn("cannot remove {}: {}", path, e.toString());
        }
    }

    private static String mib(long b) {
        return String.format("%.1f MiB", b / 1048576.0);
    }
}
