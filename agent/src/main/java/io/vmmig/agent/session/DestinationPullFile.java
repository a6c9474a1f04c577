package io.vmmig.agent.session;

import io.vmmig.agent.control.ControlCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import org.slf4j.LoggerFactory;

/**
 * {@code destination-pull.json} in a destination migration's directory (mode 0600, replaced
 * atomically): what a restarted destination agent needs, beside the pull's journal
 * ({@code pull/}), to take the pull back: the disk's shape and nodes, and where and how to reconnect
 * to the source (its address, its peer port, the resume token it gave, base64).
 *
 * <pre>{"id":"m-1a2b3c4d","sourceHost":"10.0.0.1","sourcePort":7410,"resumeToken":"...","chunkSize":262144,
 *  "disks":[{"image":"/var/lib/vmmig/images/web1.qcow2","format":"qcow2","node":"disk0","size":68719476736},
 *           {"image":"/var/lib/vmmig/images/web1-data.raw","format":"raw","node":"disk1","size":1073741824}]}</pre>
 *
 * The disks are in the migration's order (the source's), which fixes where each lives in the pull's
 * address space ({@link io.vmmig.strategy.DiskLayout}) and so in its journal.
 */
public record DestinationPullFile(String id, String sourceHost, int sourcePort, String resumeToken, int chunkSize, List<Disk> disks) {
    /** One disk: its local image, format, node name in the destination QEMU and size. */
    public record Disk(String image, String format, String node, long size) {}

    /** The disks as the chunk destination takes them. */
    List<io.vmmig.strategy.qemu.ChunkTransferDestination.TargetDisk> targets() {
        return disks.stream().map(d -> new io.vmmig.strategy.qemu.ChunkTransferDestination.TargetDisk(Path.of(d.image()), d.format(),
                d.node(), d.size())).toList();
    }

    static final String NAME = "destination-pull.json";

    void write(Path dir) {
        Path tmp = dir.resolve(NAME + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(ControlCodec.mapper().writeValueAsBytes(this)));
                ch.force(true);
            }
            Files.move(tmp, dir.resolve(NAME), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LoggerFactory.getLogger(DestinationPullFile.class).warn("cannot write {}: {}", dir.resolve(NAME), e.toString());
        }
    }

    static void remove(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(NAME));
        } catch (IOException e) {
            LoggerFactory.getLogger(DestinationPullFile.class).warn("cannot remove {}: {}", dir.resolve(NAME), e.toString());
        }
    }

    static Optional<DestinationPullFile> read(Path dir) {
        Path f = dir.resolve(NAME);
        if (!Files.isRegularFile(f)) return Optional.empty();
        try {
            return Optional.of(ControlCodec.mapper().readValue(f.toFile(), DestinationPullFile.class));
        } catch (IOException e) {
            LoggerFactory.getLogger(DestinationPullFile.class).warn("unreadable {}: {}", f, e.toString());
            return Optional.empty();
        }
    }
}
