package io.vmmig.agent.daemon;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.vmmig.agent.config.JournalRetention;
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
 * <p>File: {@code {"status": MigrationStatus, "facts": {"name": "value", ...}, "endedAt": "2026-12-02T13:40:00Z"}}.
 *
 * <p>Finished migrations are pruned by a {@link JournalRetention} ({@link #retain}): when one ends, and at
 * the agent's start ({@link #prune}), by the {@code endedAt} the journal writes in the entry (the file's
 * modification time for entries of older agents). Migrations in flight are never pruned.
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
    public static final String LIBVIRT_DOMAIN = "libvirt-domain"; // both: the UUID of the libvirt domain migrated (its migrations only)
    public static final String LIBVIRT_INCOMING = "libvirt-incoming"; // destination: the marker the libvirt hook reads

    /** Source of a libvirt domain: the overlay vmmig's snapshot put over disk {@code target} (written before the snapshot). */
    public static String libvirtOverlay(String target) {
        return LIBVIRT_OVERLAY + target;
    }

    /** The prefix of {@link #libvirtOverlay} facts. */
    public static final String LIBVIRT_OVERLAY = "libvirt-overlay.";

    /**
     * One migration as written down.
     *
     * @param endedAt when it ended (ISO-8601; null while in flight, and in files of older agents), set by
     *                the journal the first time it writes the migration finished: the age {@link JournalRetention} reads
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Entry(MigrationStatus status, Map<String, String> facts, String endedAt) {
        public Entry {
            facts = facts == null ? Map.of() : Map.copyOf(new TreeMap<>(facts));
        }

        public Entry(MigrationStatus status, Map<String, String> facts) {
            this(status, facts, null);
        }

        boolean finished() {
            return status.phase() != null && status.phase().terminal();
        }
    }

    private final Path dir;
    private JournalRetention retention;                            // guarded by this; null: keep everything
    private java.util.function.Consumer<Entry> pruned = e -> { };  // guarded by this

    public MigrationJournal(Path dir) {
        this.dir = dir;
    }

    /**
     * From now on, finished entries beyond {@code r} are deleted when a migration ends; {@code onPruned}
     * is told of each deleted entry (to forget the record, remove what the migration left).
     */
    public synchronized void retain(JournalRetention r, java.util.function.Consumer<Entry> onPruned) {
        retention = r;
        pruned = onPruned;
    }

    /**
     * Deletes the finished entries beyond the retention (none without one): those older than its
     * maximum age, and all but the newest {@code keep} of the rest. Returns them, oldest first.
     */
    public List<Entry> prune(java.time.Instant now) {
        List<Entry> out;
        java.util.function.Consumer<Entry> tell;
        synchronized (this) {
            out = deleteBeyondRetention(now);
            tell = pruned;
        }
        for (Entry e : out) {   // outside this journal's lock: the callback may touch records, which lock themselves and save here
            try {
                tell.accept(e);
            } catch (RuntimeException ex) {
                LOG.warn("after pruning {}: {}", e.status().id(), ex.toString());
            }
        }
        return out;
    }

    private List<Entry> deleteBeyondRetention(java.time.Instant now) {   // called with this locked
        List<Entry> out = new ArrayList<>();
        if (retention == null || !Files.isDirectory(dir)) return out;
        record Finished(Path file, Entry entry, java.time.Instant ended) { }
        List<Finished> finished = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "m-*.json")) {
            for (Path f : files) {
                try {
                    Entry e = ControlCodec.mapper().readValue(Files.readString(f), Entry.class);
                    if (e.finished()) finished.add(new Finished(f, e, e.endedAt() != null ? java.time.Instant.parse(e.endedAt())
                            : Files.getLastModifiedTime(f).toInstant()));
                } catch (IOException | RuntimeException ex) {
                    // unreadable: load() says so; not ours to delete
                }
            }
        } catch (IOException ex) {
            LOG.warn("cannot list the journal {}: {}", dir, ex.toString());
            return out;
        }
        finished.sort(java.util.Comparator.comparing(Finished::ended).reversed());   // newest first
        java.time.Instant oldest = now.minus(retention.maxAge());
        for (int i = 0; i < finished.size(); i++) {
            Finished f = finished.get(i);
            if (i < retention.keep() && !f.ended().isBefore(oldest)) continue;
            try {
                Files.deleteIfExists(f.file());
                out.add(0, f.entry());
            } catch (IOException ex) {
                LOG.warn("cannot remove the journal entry {}: {}", f.file(), ex.toString());
            }
        }
        if (!out.isEmpty()) LOG.info("journal {}: dropped {} finished migration(s) beyond {} kept / {} days", dir, out.size(),
                retention.keep(), retention.maxAge().toDays());
        return out;
    }

    public Path dir() {
        return dir;
    }

    /** Writes {@code e} in place of the migration's previous entry. Failures are logged, never thrown. */
    public synchronized void save(Entry e) {
        try {
            Files.createDirectories(dir);
            Path file = file(e.status().id());
            if (e.finished() && e.endedAt() == null) e = new Entry(e.status(), e.facts(), endedAt(file));
            Path tmp = dir.resolve(e.status().id() + ".json.tmp");
            Files.writeString(tmp, ControlCodec.mapper().writeValueAsString(e));
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException ex) {
            LOG.warn("cannot write the journal entry of migration {} in {}: {}", e.status().id(), dir, ex.toString());
        }
        if (e.finished()) prune(java.time.Instant.now());
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

    /** When the migration of {@code file} ended as written there already (a restarted agent saves its records again), else now. */
    private static String endedAt(Path file) {
        try {
            if (Files.isRegularFile(file)) {
                Entry before = ControlCodec.mapper().readValue(Files.readString(file), Entry.class);
                if (before.finished() && before.endedAt() != null) return before.endedAt();
            }
        } catch (IOException | RuntimeException ex) {
            // unreadable: it ends now
        }
        return java.time.Instant.now().toString();
    }

    private Path file(String id) {
        if (!id.matches("m-[0-9a-f]{8}")) throw new IllegalArgumentException("not a migration id: " + id);
        return dir.resolve(id + ".json");
    }
}
