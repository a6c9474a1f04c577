package io.vmmig.agent.session;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.MigrationPhase;
import io.vmmig.agent.daemon.MigrationRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code guest.json} in a destination migration's directory: written once the guest runs here, so
 * that a restarted agent knows which running QEMU (pidfile {@code qemu.pid}, QMP socket
 * {@code qmp.sock} beside it) is which migration's guest and lists it. Replaced atomically (written
 * to a temporary file, fsync'd, renamed), so a crash leaves the old or the new one, never half.
 *
 * <pre>{"id":"m-1a2b3c4d","vm":"web1","peer":"10.0.0.1:51234","strategy":"hybrid","phase":"COMPLETED","qemuPid":4711}</pre>
 */
public record GuestFile(String id, String vm, String peer, String strategy, MigrationPhase phase, long qemuPid) {
    private static final Logger LOG = LoggerFactory.getLogger(GuestFile.class);
    static final String NAME = "guest.json";

    /** Writes (or replaces) the file of {@code record}'s guest in {@code dir}; best effort, logged. */
    static void write(Path dir, MigrationRecord record, MigrationPhase phase, long qemuPid) {
        GuestFile g = new GuestFile(record.id(), record.vm(), record.peer(), record.strategy(), phase, qemuPid);
        Path target = dir.resolve(NAME);
        Path tmp = dir.resolve(NAME + ".tmp");
        try {
            byte[] json = ControlCodec.mapper().writeValueAsBytes(g);
            if (Files.exists(target) && java.util.Arrays.equals(Files.readAllBytes(target), json)) return;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ch.write(ByteBuffer.wrap(json));
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warn("cannot write {}: {}", target, e.toString());
        }
    }

    /** The file in {@code dir}, if there is a readable one. */
    public static Optional<GuestFile> read(Path dir) {
        Path f = dir.resolve(NAME);
        if (!Files.isRegularFile(f)) return Optional.empty();
        try {
            return Optional.of(ControlCodec.mapper().readValue(f.toFile(), GuestFile.class));
        } catch (IOException e) {
            LOG.warn("unreadable {}: {}", f, e.toString());
            return Optional.empty();
        }
    }

    /**
     * The guests an earlier run of this agent started and that still run: every migration directory
     * under {@code stateDir/m} with a {@code guest.json} whose QEMU (pidfile + command line) is alive.
     */
    public static java.util.List<GuestFile> running(Path stateDir) {
        Path m = stateDir.resolve("m");
        if (!Files.isDirectory(m)) return java.util.List.of();
        try (var dirs = Files.list(m)) {
            return dirs.filter(Files::isDirectory)
                    .filter(d -> DestinationQemu.running(d).isPresent())
                    .flatMap(d -> read(d).stream())
                    .toList();
        } catch (IOException e) {
            LOG.warn("cannot list {}: {}", m, e.toString());
            return java.util.List.of();
        }
    }
}
