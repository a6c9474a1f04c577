package io.vmmig.agent.daemon;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.strategy.peer.PeerChannel;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The migrations this agent runs or ran (both roles), and the data connections a destination awaits
 * for the migrations it prepared.
 */
public final class MigrationRegistry {
    private final SecureRandom random = new SecureRandom();
    private final Map<String, MigrationRecord> migrations = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<PeerChannel>> dataChannels = new ConcurrentHashMap<>();
    private final Map<String, java.util.function.Consumer<PeerChannel>> resumes = new ConcurrentHashMap<>();
    private final java.util.function.Consumer<MigrationRecord> added;
    private final MigrationJournal journal;

    /** Records kept in memory only. */
    public MigrationRegistry() {
        this(r -> { }, null);
    }

    /** @param added told of each migration as it is added (the metrics follow it from there) */
    public MigrationRegistry(java.util.function.Consumer<MigrationRecord> added) {
        this(added, null);
    }

    /**
     * @param added   told of each migration as it is added (the metrics follow it from there)
     * @param journal every record added is written to it as it changes (null: memory only)
     */
    public MigrationRegistry(java.util.function.Consumer<MigrationRecord> added, MigrationJournal journal) {
        this.added = added;
        this.journal = journal;
    }

    /** A fresh migration id: {@code m-} and 8 hex digits. */
    public String newId() {
        byte[] b = new byte[4];
        random.nextBytes(b);
        return "m-" + HexFormat.of().formatHex(b);
    }

    public void add(MigrationRecord r) throws AgentException {
        if (migrations.putIfAbsent(r.id(), r) != null)
            throw new AgentException(ErrorKind.BAD_REQUEST, "migration " + r.id() + " already exists on this agent");
        if (journal != null) r.journal(journal);
        added.accept(r);
    }

    public MigrationRecord get(String id) throws AgentException {
        MigrationRecord r = migrations.get(id);
        if (r == null) throw new AgentException(ErrorKind.NOT_FOUND, "no migration " + id + " on this agent");
        return r;
    }

    /**
     * Drops a finished migration whose journal entry was pruned (the journal prunes only finished
     * entries, and a finished migration never runs again: no record lock is taken here).
     */
    public void forget(String id) {
        migrations.remove(id);
    }

    public List<MigrationRecord> all() {
        List<MigrationRecord> out = new ArrayList<>(migrations.values());
        // by instant, not as text (ISO text of "...:00Z" sorts after "...:00.5Z")
        out.sort(Comparator.comparing(r -> Instant.parse(r.status().startedAt())));
        return out;
    }

    /** A destination expects the data connection of {@code id}. */
    public CompletableFuture<PeerChannel> expectData(String id) {
        return dataChannels.computeIfAbsent(id, k -> new CompletableFuture<>());
    }

    /** A data connection arrived (its token was checked); false if nobody expects it. */
    public boolean dataArrived(String id, PeerChannel channel) {
        CompletableFuture<PeerChannel> f = dataChannels.get(id);
        if (f != null && f.complete(channel)) return true;
        java.util.function.Consumer<PeerChannel> r = resumes.get(id);
        if (r == null) return false;
        r.accept(channel);
        return true;
    }

    /**
     * A source in its pull phase takes the destination's resume connections of {@code id} (opened
     * with the resume token this agent issued) with {@code onResume}.
     */
    public void expectResumes(String id, java.util.function.Consumer<PeerChannel> onResume) {
        resumes.put(id, onResume);
    }

    public void forgetResumes(String id) {
        resumes.remove(id);
    }

    public void forgetData(String id) {
        dataChannels.remove(id);
    }
}
