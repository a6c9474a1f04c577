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

    /** Checks the request against this agent's rules and free space; creates nothing. */
    static TargetImage plan(AgentConfig config, PeerMessage.Prepare p) throws AgentException {
        if (p.imageName() == null || p.imageName().isEmpty() || p.imageName().contains("/") || p.imageName().startsWith("."))
            throw new AgentException(ErrorKind.BAD_REQUEST, "bad image name '" + p.imageName() + "'");
        Path target = p.target() != null ? Path.of(p.target()) : config.imageDirs().get(0).resolve(p.imageName());
        if (!target.isAbsolute()) throw new AgentException(ErrorKind.BAD_REQUEST, "target image path '" + p.target() + "' is not absolute");
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

    void create(String format, long size, String backing) throws AgentException {
        QemuImgTool.create(path, format, size, backing);
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
