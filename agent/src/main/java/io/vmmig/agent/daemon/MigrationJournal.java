package io.vmmig.agent.daemon;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.MigrationStatus;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each migration's last known state, one JSON file per migration in {@code STATE_DIR/journal/ID.json},
 * rewritten (write to a temporary file, then rename) on every phase change and at the end, so a
 * restarted agent lists its migrations and can finish or undo what was in flight. {@code facts}
 * are what a restart needs to find the migration's traces (the VM's QMP socket, the image it
 * created, its directory); sessions add them before acting ("durable state before action").
 *
 * <p>File: {@code {"status": MigrationStatus, "facts": {"name": "value", ...}}}.
 */
public final class MigrationJournal {
    private static final Logger LOG = LoggerFactory.getLogger(MigrationJournal.class);

    /** Names of facts the agent's sessions record. */
    public static final String QMP_SOCKET = "qmp-socket";         // source: the VM's QMP socket
    public static final String WORK_DIR = "work-dir";             // both: the migration's directory
    public static final String IMAGE = "image";                   // destination: the (first disk's) image this agent created

    /** Destination: the image this agent created for disk {@code i} ({@code image}, {@code image-1}, {@code image-2}, ...). */
    public static String image(int i) {
        return i == 0 ? IMAGE : IMAGE + "-" + i;
    }
    public static final String QEMU_QMP = "qemu-qmp";             // destination: its QEMU's QMP socket
    public static final String QEMU_PID = "qemu-pid";             // destination: its QEMU's process id
    public static final String CAPABILITIES_BEFORE = "capabilities-before"; // source: e.g. "events=false,pause-before-switchover=false"

    /** One migration as written down. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Entry(MigrationStatus status, Map<String, String> facts) {
        public Entry {
            facts = facts == null ? Map.of() : Map.copyOf(new TreeMap<>(facts));
        }
    }

    private final Path dir;

    public MigrationJournal(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    /** Writes {@code e} in place of the migration's previous entry. Failures are logged, never thrown. */
    public synchronized void save(Entry e) {
        try {
            Files.createDirectories(dir);
            Path file = file(e.status().id());
            Path tmp = dir.resolve(e.status().id() + ".json.tmp");
            Files.writeString(tmp, ControlCodec.mapper().writeValueAsString(e));
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException ex) {
            LOG.warn("cannot write the journal entry of migration {} in {}: {}", e.status().id(), dir, ex.toString());
        }
    }

    /** Every entry, oldest first; unreadable files are logged and skipped. */
    public synchronized List<Entry> load() {
        List<Entry> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "m-*.json")) {
            for (Path f : files) {
                try {
                    out.add(ControlCodec.mapper().readValue(Files.readString(f), Entry.class));
                } catch (IOException | RuntimeException ex) {
                    LOG.warn("skipping unreadable journal entry {}: {}", f, ex.toString());
                }
            }
        } catch (IOException ex) {
            LOG.warn("cannot list the journal {}: {}", dir, ex.toString());
        }
        out.sort(java.util.Comparator.comparing(e -> e.status().startedAt() == null ? "" : e.status().startedAt()));
        return out;
    }

    private Path file(String id) {
        if (!id.matches("m-[0-9a-f]{8}")) throw new IllegalArgumentException("not a migration id: " + id);
        return dir.resolve(id + ".json");
    }
}
