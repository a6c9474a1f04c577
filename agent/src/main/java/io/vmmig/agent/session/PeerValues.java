package io.vmmig.agent.session;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.strategy.peer.FrameDecoder;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Every value a peer agent sends on the control connection, checked before anything uses it: the one
 * place that says which ids, sizes, names, paths and ports are acceptable (agent/README-peer.md,
 * "Values from a peer"). {@link ControlLink} checks every message it receives with {@link #check};
 * what needs this agent's configuration (image directories) is checked by the session after that
 * ({@link TargetImage#plan}). A refusal names the message, the field and why, with the value
 * abbreviated and its control characters escaped (it goes into logs).
 */
public final class PeerValues {
    /** Migration ids: a single path component that cannot be {@code .} or {@code ..}, no separators, 1-64 characters. */
    public static final Pattern MIGRATION_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    /** Image file names at the destination: one path component, not hidden, no separators. */
    static final Pattern IMAGE_NAME = Pattern.compile("[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,254}");
    /** QEMU block node names (QEMU's own rule for ids: a letter first). */
    static final Pattern NODE_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]{0,63}");
    /** NBD export names the destination gives its mirror export. */
    static final Pattern EXPORT_NAME = Pattern.compile("[A-Za-z0-9_.:-]{1,64}");
    /** QEMU run states ({@code query-status}) and the agents' own words for them ({@code gone}). */
    static final Pattern RUN_STATE = Pattern.compile("[a-z][a-z-]{0,31}");
    static final Set<String> FORMATS = Set.of("raw", "qcow2");
    /** Chunk sizes: a power of two in this range (as {@code vmmig migrate --chunk-size}). */
    public static final int MIN_CHUNK = 64 << 10;
    public static final int MAX_CHUNK = 16 << 20;
    /** Largest disk a peer may ask for (and never more chunks than a hand-over can describe). */
    public static final long MAX_DISK_BYTES = 64L << 40;
    /** Tokens: what {@link io.vmmig.agent.peer.TokenIssuer} issues is 32 bytes; a HELLO carries at most 65535. */
    static final int MIN_TOKEN = 16;
    static final int MAX_TOKEN = 1024;
    static final int MAX_PATH = 4096;
    static final int MAX_NAME = 255;
    static final int MAX_TEXT = 16 * 1024;
    /** Most disks one migration moves (the description's bound too). */
    static final int MAX_DISKS = 16;

    private PeerValues() {
    }

    /** Checks every field of {@code m} that this agent will use; throws BAD_REQUEST naming the first bad one. */
    public static void check(PeerMessage m) throws AgentException {
        if (m == null) throw bad("control message", "message", "is null");
        if (m instanceof PeerMessage.Prepare p) {
            prepare(p);
        } else if (m instanceof PeerMessage.Prepared p) {
            if (p.images() == null || p.images().isEmpty() || p.images().size() > MAX_DISKS)
                throw bad("prepared", "images", "names " + (p.images() == null ? 0 : p.images().size()) + " images, not 1.." + MAX_DISKS);
            for (int i = 0; i < p.images().size(); i++) path("prepared", "images[" + i + "]", p.images().get(i), true);
            token("prepared", "token", p.token());
            if (p.dedupChunk() != null && (p.dedupChunk() < 4096 || Integer.bitCount(p.dedupChunk()) != 1 || p.dedupChunk() > MAX_CHUNK))
                throw bad("prepared", "dedupChunk", "must be a power of two from 4096 to " + MAX_CHUNK + ", got " + p.dedupChunk());
        } else if (m instanceof PeerMessage.Ready r) {
            port("ready", "memoryPort", r.memoryPort());
            if (r.mirrorPort() != null) port("ready", "mirrorPort", r.mirrorPort());
            if (r.mirrorSocket() != null)
                throw bad("ready", "mirrorSocket", "a destination agent on another host names a TCP port, not a socket path on"
                        + " this host (" + show(r.mirrorSocket()) + ")");
            if (r.mirrorExport() != null) matches("ready", "mirrorExport", r.mirrorExport(), EXPORT_NAME);
            if (r.mirrorPort() != null && r.mirrorExport() == null) throw bad("ready", "mirrorExport", "is missing beside mirrorPort");
        } else if (m instanceof PeerMessage.Progress p) {
            nonNegative("progress", "pulledBytes", p.pulledBytes());
            nonNegative("progress", "pulledOnDemand", p.pulledOnDemand());
            nonNegative("progress", "pulledBackground", p.pulledBackground());
            nonNegative("progress", "receivedPushBytes", p.receivedPushBytes());
            if (p.qemuStatus() != null) matches("progress", "qemuStatus", p.qemuStatus(), RUN_STATE);
            if (p.missingPerDisk() != null) {
                if (p.missingPerDisk().size() > MAX_DISKS) throw bad("progress", "missingPerDisk", "has more than " + MAX_DISKS + " disks");
                for (int i = 0; i < p.missingPerDisk().size(); i++) {
                    Long v = p.missingPerDisk().get(i);
                    if (v == null || v < 0 || v > MAX_DISK_BYTES) throw bad("progress", "missingPerDisk[" + i + "]", v + " is outside 0.." + MAX_DISK_BYTES);
                }
            }
        } else if (m instanceof PeerMessage.Finished f) {
            if (f.report() == null || !f.report().isObject()) throw bad("finished", "report", "is not a JSON object");
        } else if (m instanceof PeerMessage.Failed f) {
            if (f.kind() == null) throw bad("failed", "kind", "is missing");
            text("failed", "message", f.message(), MAX_TEXT, true);
            if (f.qemuStatus() != null) matches("failed", "qemuStatus", f.qemuStatus(), RUN_STATE);
        } else if (m instanceof PeerMessage.ResumeAt r) {
            port("resume-at", "port", r.port());
            token("resume-at", "token", r.token());
        } else if (m instanceof PeerMessage.Cancel c) {
            text("cancel", "reason", c.reason(), MAX_TEXT, false);
        } else if (m instanceof PeerMessage.PrepareDomain p) {
            prepareDomain(p);
        } else if (m instanceof PeerMessage.PreparedDomain p) {
            String n = "prepared-domain";
            text(n, "libvirtUri", p.libvirtUri(), 1024, true);
            if (!p.libvirtUri().matches("[a-z0-9+]+:/[\\x21-\\x7e]*")) throw bad(n, "libvirtUri", show(p.libvirtUri()) + " is not a libvirt URI");
            if (p.disks() == null || p.disks().isEmpty() || p.disks().size() > MAX_DOMAIN_DISKS)
                throw bad(n, "disks", "must name 1 to " + MAX_DOMAIN_DISKS + " disks");
            for (PeerMessage.DomainDiskTarget t : p.disks()) {
                if (t == null) throw bad(n, "disks", "has a null entry");
                matches(n, "target", t.target(), DISK_TARGET);
                path(n, "nbdSocket", t.nbdSocket(), true);
                path(n, "image", t.image(), true);
                token(n, "token", t.token());
            }
        }
    }

    /** Guest-side disk names of libvirt ({@code <target dev>}: vda, sdb, hdc, nvme0n1): they name files at the destination. */
    static final Pattern DISK_TARGET = Pattern.compile("[a-z][a-z0-9]{0,31}");
    /** libvirt domain names (they name a file in the state dir for the hook): no separators, not hidden. */
    static final Pattern DOMAIN_NAME = Pattern.compile("[A-Za-z0-9_+][A-Za-z0-9_.+:-]{0,199}");
    static final Pattern UUID = Pattern.compile("[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}");
    static final int MAX_DOMAIN_DISKS = 64;

    /** A PREPARE-DOMAIN's fields: ids, names and sizes, each disk's target, format, size and image name, all distinct. */
    static void prepareDomain(PeerMessage.PrepareDomain p) throws AgentException {
        String m = "prepare-domain";
        migrationId(m, p.id());
        matches(m, "domain", p.domain(), DOMAIN_NAME);
        matches(m, "uuid", p.uuid(), UUID);
        int chunk = p.chunkSize();
        if (Integer.bitCount(chunk) != 1 || chunk < MIN_CHUNK || chunk > MAX_CHUNK)
            throw bad(m, "chunkSize", chunk + " is not a power of two from " + MIN_CHUNK + " to " + MAX_CHUNK + " bytes");
        if (p.disks() == null || p.disks().isEmpty() || p.disks().size() > MAX_DOMAIN_DISKS)
            throw bad(m, "disks", "must name 1 to " + MAX_DOMAIN_DISKS + " disks");
        java.util.Set<String> targets = new java.util.HashSet<>();
        java.util.Set<String> images = new java.util.HashSet<>();
        for (PeerMessage.DomainDiskPlan d : p.disks()) {
            if (d == null) throw bad(m, "disks", "has a null entry");
            matches(m, "target", d.target(), DISK_TARGET);
            if (d.format() == null || !FORMATS.contains(d.format())) throw bad(m, "format", show(d.format()) + " is not one of " + FORMATS);
            diskSize(m, d.virtualSize(), chunk);
            matches(m, "imageName", d.imageName(), IMAGE_NAME);
            if (!targets.add(d.target())) throw bad(m, "target", show(d.target()) + " is named twice");
            if (!images.add(d.imageName())) throw bad(m, "imageName", show(d.imageName()) + " is named twice");
        }
    }

    /** A PREPARE's fields, as far as they can be judged without this agent's configuration. */
    static void prepare(PeerMessage.Prepare p) throws AgentException {
        String m = "prepare";
        migrationId(m, p.id());
        text(m, "strategy", p.strategy(), 32, true);
        StrategyChoice.parse(p.strategy());
        int chunk = p.chunkSize();
        if (Integer.bitCount(chunk) != 1 || chunk < MIN_CHUNK || chunk > MAX_CHUNK)
            throw bad(m, "chunkSize", chunk + " is not a power of two from " + MIN_CHUNK + " to " + MAX_CHUNK + " bytes");
        if (p.disks().isEmpty() || p.disks().size() > MAX_DISKS)
            throw bad(m, "disks", p.disks().size() + " disks, not 1.." + MAX_DISKS);
        long chunks = 0;   // of the whole address space: every disk but the last rounded up to whole chunks
        for (int i = 0; i < p.disks().size(); i++) {
            PeerMessage.Disk k = p.disks().get(i);
            String at = "disks[" + i + "].";
            if (k == null) throw bad(m, "disks[" + i + "]", "is null");
            matches(m, at + "node", k.node(), NODE_NAME);
            if (k.format() == null || !FORMATS.contains(k.format()))
                throw bad(m, at + "format", show(k.format()) + " is not one of " + FORMATS);
            diskSize(m, at + "virtualSize", k.virtualSize(), chunk);
            if (k.allocatedBytes() < 0 || k.allocatedBytes() > MAX_DISK_BYTES)
                throw bad(m, at + "allocatedBytes", k.allocatedBytes() + " is outside 0.." + MAX_DISK_BYTES);
            if (k.backingFile() != null) path(m, at + "backingFile", k.backingFile(), true);
            matches(m, at + "imageName", k.imageName(), IMAGE_NAME);
            chunks += (k.virtualSize() + chunk - 1) / chunk;
        }
        if (chunks > FrameDecoder.MAX_CHUNKS)
            throw bad(m, "disks", "the disks make " + chunks + " chunks of " + chunk + ", over the " + FrameDecoder.MAX_CHUNKS
                    + " one hand-over can describe");
        if (p.target() != null) path(m, "target", p.target(), true);
        // description: VmDescription.read and DescriptionValidator judge it whole (REFUSED, naming the field)
        text(m, "vm", p.vm(), MAX_NAME, true);
        if (p.sourceVersion() != null) text(m, "sourceVersion", p.sourceVersion(), 64, true);
    }

    /** A migration id from a peer: one safe path component (it names files and directories in the state dir). */
    public static String migrationId(String message, String id) throws AgentException {
        if (id == null) throw bad(message, "id", "is missing");
        if (!MIGRATION_ID.matcher(id).matches())
            throw bad(message, "id", show(id) + " is not a migration id (letters, digits, '_', '.', '-'; a letter or digit first;"
                    + " at most 64)");
        return id;
    }

    /** Whether {@code id} may be a migration id (the authorizer's first check of a HELLO). */
    public static boolean isMigrationId(String id) {
        return id != null && MIGRATION_ID.matcher(id).matches();
    }

    /** A disk's virtual size: positive, at most {@link #MAX_DISK_BYTES}, and at most as many chunks as a hand-over can describe. */
    static void diskSize(String message, long size, int chunk) throws AgentException {
        diskSize(message, "virtualSize", size, chunk);
    }

    static void diskSize(String message, String field, long size, int chunk) throws AgentException {
        if (size <= 0) throw bad(message, field, size + " is not a positive size");
        if (size > MAX_DISK_BYTES) throw bad(message, field, size + " bytes is over the largest disk, " + MAX_DISK_BYTES);
        long chunks = (size + chunk - 1) / chunk;
        if (chunks > FrameDecoder.MAX_CHUNKS)
            throw bad(message, field, size + " bytes is " + chunks + " chunks of " + chunk + ", over " + FrameDecoder.MAX_CHUNKS);
    }

    private static void port(String message, String field, int port) throws AgentException {
        if (port < 1 || port > 65535) throw bad(message, field, port + " is not a TCP port");
    }

    private static void nonNegative(String message, String field, long v) throws AgentException {
        if (v < 0) throw bad(message, field, v + " is negative");
    }

    private static void token(String message, String field, String base64) throws AgentException {
        if (base64 == null) throw bad(message, field, "is missing");
        if (base64.length() > MAX_TOKEN * 2) throw bad(message, field, "is " + base64.length() + " characters long");
        byte[] b;
        try {
            b = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw bad(message, field, "is not base64: " + e.getMessage());
        }
        if (b.length < MIN_TOKEN || b.length > MAX_TOKEN)
            throw bad(message, field, "is " + b.length + " bytes, not " + MIN_TOKEN + ".." + MAX_TOKEN);
    }

    /** An absolute, normalised path without control characters (a peer's path is never relative, never {@code ..}). */
    private static void path(String message, String field, String v, boolean required) throws AgentException {
        text(message, field, v, MAX_PATH, required);
        if (v == null) return;
        Path p;
        try {
            p = Path.of(v);
        } catch (RuntimeException e) {
            throw bad(message, field, show(v) + " is not a path: " + e.getMessage());
        }
        if (!p.isAbsolute()) throw bad(message, field, show(v) + " is not an absolute path");
        if (!p.normalize().toString().equals(v)) throw bad(message, field, show(v) + " is not a normalised path (no '.', '..', '//')");
    }

    /** Text shown or logged: at most {@code max} characters, no control characters. */
    private static void text(String message, String field, String v, int max, boolean required) throws AgentException {
        if (v == null) {
            if (required) throw bad(message, field, "is missing");
            return;
        }
        if (v.length() > max) throw bad(message, field, "is " + v.length() + " characters long, more than " + max);
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (Character.isISOControl(c) && !((c == '\n' || c == '\t') && max == MAX_TEXT))
                throw bad(message, field, show(v) + " holds control character U+" + String.format("%04X", (int) c));
        }
    }

    private static void matches(String message, String field, String v, Pattern p) throws AgentException {
        if (v == null) throw bad(message, field, "is missing");
        if (!p.matcher(v).matches()) throw bad(message, field, show(v) + " does not match " + p.pattern());
    }

    static AgentException bad(String message, String field, String why) {
        return new AgentException(ErrorKind.BAD_REQUEST, "invalid " + message + " from the peer: " + field + " " + why);
    }

    /** The value quoted for a message: abbreviated, control characters escaped. */
    static String show(String v) {
        if (v == null) return "null";
        StringBuilder b = new StringBuilder("'");
        for (int i = 0; i < v.length() && i < 80; i++) {
            char c = v.charAt(i);
            if (Character.isISOControl(c)) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        if (v.length() > 80) b.append("...");
        return b.append('\'').toString();
    }
}
