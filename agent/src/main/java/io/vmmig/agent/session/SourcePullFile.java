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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code source-pull.json} in a source migration's directory, written once the guest runs at the
 * destination and removed when the destination said DONE: what a restarted source agent needs to
 * serve the rest of the pull. The source QEMU outlives its agent in {@code postmigrate} with the
 * read-only NBD exports vmmig added still up ({@code exportSocket}, {@code exportNames}, one per disk in the
 * migration's disk order, with their sizes and the chunk size: the {@link io.vmmig.strategy.DiskLayout}); the
 * destination reconnects with {@code resumeToken} (base64; the file is mode 0600 in the state dir).
 * Replaced atomically (temporary file, fsync, rename).
 *
 * <pre>{"id":"m-1a2b3c4d","vm":"web1","destination":"10.0.0.2:7410","strategy":"hybrid","qmpSocket":"/run/vms/web1/qmp.sock",
 *  "exportSocket":"/var/lib/vmmig/m/m-1a2b3c4d/source-nbd.sock","exportNames":["vmmig-m-1a2b3c4d-data","vmmig-m-1a2b3c4d-data1"],
 *  "diskSizes":[68719476736,1073741824],"chunkSize":262144,
 *  "compress":false,"resumeToken":"...","tokenExpiry":"2027-12-02T07:00:00Z"}</pre>
 */
public record SourcePullFile(String id, String vm, String destination, String strategy, String qmpSocket, String exportSocket,
                             List<String> exportNames, List<Long> diskSizes, int chunkSize, boolean compress,
                             String resumeToken, String tokenExpiry) {
    /** Where each disk lives in the pull's address space. */
    io.vmmig.strategy.DiskLayout layout() {
        return io.vmmig.strategy.DiskLayout.of(exportNames, diskSizes, chunkSize);
    }

    private static final Logger LOG = LoggerFactory.getLogger(SourcePullFile.class);
    static final String NAME = "source-pull.json";

    void write(Path dir) throws IOException {
        Path target = dir.resolve(NAME);
        Path tmp = dir.resolve(NAME + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(ControlCodec.mapper().writeValueAsBytes(this)));
            ch.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    static void remove(Path dir) {
        try {
            Files.deleteIfExists(dir.resolve(NAME));
        } catch (IOException e) {
            LOG.warn("cannot remove {}: {}", dir.resolve(NAME), e.toString());
        }
    }

    /** Every pull an earlier run of this agent was serving as a source when it stopped: directory and file. */
    static List<java.util.Map.Entry<Path, SourcePullFile>> all(Path stateDir) {
        Path m = stateDir.resolve("m");
        if (!Files.isDirectory(m)) return List.of();
        try (var dirs = Files.list(m)) {
            return dirs.filter(d -> Files.isRegularFile(d.resolve(NAME)))
                    .flatMap(d -> read(d).map(f -> java.util.Map.entry(d, f)).stream())
                    .toList();
        } catch (IOException e) {
            LOG.warn("cannot list {}: {}", m, e.toString());
            return List.of();
        }
    }

    static Optional<SourcePullFile> read(Path dir) {
        try {
            return Optional.of(ControlCodec.mapper().readValue(dir.resolve(NAME).toFile(), SourcePullFile.class));
        } catch (IOException e) {
            LOG.warn("unreadable {}: {}", dir.resolve(NAME), e.toString());
            return Optional.empty();
        }
    }
}
