package io.vmmig.strategy.peer;

import io.vmmig.strategy.RemainingSet;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * A peer protocol frame. On the wire: {@code u32 length} (of what follows), {@code u8 type},
 * {@code u8 flags}, {@code u16 reserved = 0}, then the body, all big-endian.
 */
public sealed interface Frame {

    /** Header flag: a peer that does not know this frame type may skip it. */
    int FLAG_IGNORABLE = 1;
    /** Bytes of the header after the length field. */
    int HEADER_AFTER_LENGTH = 4;
    int PROTOCOL_VERSION = 1;

    FrameType type();

    record Hello(int version, String migrationId, byte[] token) implements Frame {
        public Hello {
            Objects.requireNonNull(migrationId, "migrationId");
            token = token.clone();
        }
        @Override public byte[] token() { return token.clone(); }
        @Override public FrameType type() { return FrameType.HELLO; }
        @Override public boolean equals(Object o) {
            return o instanceof Hello h && h.version == version && h.migrationId.equals(migrationId)
                    && Arrays.equals(h.token, token);
        }
        @Override public int hashCode() { return Objects.hash(version, migrationId, Arrays.hashCode(token)); }
        @Override public String toString() { return "Hello[v" + version + ", " + migrationId + ", token=<" + token.length + " bytes>]"; }
    }

    record Welcome(int version) implements Frame {
        @Override public FrameType type() { return FrameType.WELCOME; }
    }

    /** How the bytes of a CHUNK_DATA frame are carried. */
    enum Encoding {
        /** Payload is the data. */
        RAW(0),
        /** The range is all zero; no payload. */
        ZERO(1),
        /** Payload is the data deflated (java.util.zip). */
        DEFLATE(2),
        /** Payload is one zstd frame (RFC 8878) that decompresses to exactly {@code length} bytes. */
        ZSTD(3);

        public final int code;
        Encoding(int code) { this.code = code; }
        static Encoding of(int code) {
            for (Encoding e : values()) if (e.code == code) return e;
            return null;
        }
    }

    /**
     * Bytes of the disk at {@code offset}: {@code length} bytes once decoded. {@code requestId} is 0
     * for a push and the PULL's id for a pull answer.
     */
    record ChunkData(long requestId, long offset, int length, Encoding encoding, ByteBuffer payload) implements Frame {
        public ChunkData {
            if (offset < 0 || length < 0) throw new IllegalArgumentException("bad range " + offset + "+" + length);
            payload = payload.asReadOnlyBuffer();
            if (encoding == Encoding.RAW && payload.remaining() != length)
                throw new IllegalArgumentException("raw payload of " + payload.remaining() + " bytes for length " + length);
            if (encoding == Encoding.ZERO && payload.hasRemaining())
                throw new IllegalArgumentException("zero range with a payload");
        }
        @Override public ByteBuffer payload() { return payload.duplicate(); }
        @Override public FrameType type() { return FrameType.CHUNK_DATA; }
    }

    /** Why a chunk is pulled: a guest is waiting for it, or background prefetch. */
    enum Priority { BACKGROUND, ON_DEMAND }

    /** Destination asks for {@code length} bytes at {@code offset}; answered by CHUNK_DATA with the same id. */
    record Pull(long requestId, long offset, int length, Priority priority) implements Frame {
        public Pull {
            if (offset < 0 || length <= 0) throw new IllegalArgumentException("bad pull " + offset + "+" + length);
        }
        @Override public FrameType type() { return FrameType.PULL; }
    }

    /** The destination stored the bytes at {@code offset} (push acknowledgement). */
    record Ack(long offset, int length) implements Frame {
        @Override public FrameType type() { return FrameType.ACK; }
    }

    record Remaining(RemainingSet set) implements Frame {
        @Override public FrameType type() { return FrameType.REMAINING; }
        @Override public boolean equals(Object o) {
            if (!(o instanceof Remaining r) || !r.set.chunks().equals(set.chunks())
                    || r.set.counts().chunks() != set.counts().chunks()) return false;
            java.util.BitSet c = set.chunks();
            for (int i = c.nextSetBit(0); i >= 0; i = c.nextSetBit(i + 1))
                if (r.set.counts().get(i) != set.counts().get(i)) return false;
            return true;
        }
        @Override public int hashCode() { return set.chunks().hashCode(); }
    }

    record Done() implements Frame {
        @Override public FrameType type() { return FrameType.DONE; }
    }

    /**
     * The destination resumes the pull on a new connection (it opened it to the source's agent, with
     * the resume token): it holds {@code installedChunks} of the hand-over's chunks and misses
     * {@code missingChunks}; every pull it had in flight is sent again, nothing installed is asked for again.
     */
    record Resume(int installedChunks, int missingChunks) implements Frame {
        public Resume {
            if (installedChunks < 0 || missingChunks < 0)
                throw new IllegalArgumentException("negative chunk count " + installedChunks + "/" + missingChunks);
        }
        @Override public FrameType type() { return FrameType.RESUME; }
    }

    /** Largest number of chunks one FINGERPRINTS frame may list. */
    int MAX_FINGERPRINTS = 4096;
    /** Bytes of one SHA-256 fingerprint. */
    int FINGERPRINT_BYTES = 32;

    /**
     * Source, before a chunk's bytes cross (dedup, seed 003): the SHA-256 of each chunk it is about to
     * send, {@code count} entries of (offset, length, 32-byte digest); answered by HAVE with the same
     * {@code batch}. Only the chunks the destination does not have locally follow as CHUNK_DATA.
     */
    record Fingerprints(int batch, long[] offsets, int[] lengths, byte[] sha256) implements Frame {
        public Fingerprints {
            if (offsets.length != lengths.length || sha256.length != offsets.length * FINGERPRINT_BYTES)
                throw new IllegalArgumentException("fingerprint arrays disagree: " + offsets.length + " offsets, "
                        + lengths.length + " lengths, " + sha256.length + " digest bytes");
            if (offsets.length > MAX_FINGERPRINTS)
                throw new IllegalArgumentException(offsets.length + " fingerprints, at most " + MAX_FINGERPRINTS);
            for (int i = 0; i < offsets.length; i++)
                if (offsets[i] < 0 || lengths[i] <= 0) throw new IllegalArgumentException("bad range " + offsets[i] + "+" + lengths[i]);
            offsets = offsets.clone();
            lengths = lengths.clone();
            sha256 = sha256.clone();
        }
        public int count() { return offsets.length; }
        public long offset(int i) { return offsets[i]; }
        public int length(int i) { return lengths[i]; }
        public byte[] digest(int i) { return Arrays.copyOfRange(sha256, i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES); }
        @Override public long[] offsets() { return offsets.clone(); }
        @Override public int[] lengths() { return lengths.clone(); }
        @Override public byte[] sha256() { return sha256.clone(); }
        @Override public FrameType type() { return FrameType.FINGERPRINTS; }
        @Override public boolean equals(Object o) {
            return o instanceof Fingerprints f && f.batch == batch && Arrays.equals(f.offsets, offsets)
                    && Arrays.equals(f.lengths, lengths) && Arrays.equals(f.sha256, sha256);
        }
        @Override public int hashCode() { return Objects.hash(batch, Arrays.hashCode(offsets)); }
        @Override public String toString() { return "Fingerprints[batch " + batch + ", " + offsets.length + " chunks]"; }
    }

    /**
     * Destination's answer to FINGERPRINTS {@code batch}: bit i of {@code have} set = it found the
     * i-th chunk locally, verified its full SHA-256 and stored it; the rest must be sent as CHUNK_DATA.
     */
    record Have(int batch, int count, java.util.BitSet have) implements Frame {
        public Have {
            if (count < 0 || count > MAX_FINGERPRINTS) throw new IllegalArgumentException("HAVE for " + count + " chunks");
            if (have.length() > count) throw new IllegalArgumentException("HAVE bit " + (have.length() - 1) + " beyond " + count + " chunks");
            have = (java.util.BitSet) have.clone();
        }
        @Override public java.util.BitSet have() { return (java.util.BitSet) have.clone(); }
        public boolean has(int i) { return have.get(i); }
        @Override public FrameType type() { return FrameType.HAVE; }
    }

    record Error(int code, String message) implements Frame {
        public static final int PROTOCOL = 1;
        public static final int UNAUTHORIZED = 2;
        public static final int NO_SUCH_MIGRATION = 3;
        public static final int IO = 4;
        public static final int CANCELLED = 5;
        public static final int INTERNAL = 6;
        @Override public FrameType type() { return FrameType.ERROR; }
    }

    record Cancel(String reason) implements Frame {
        @Override public FrameType type() { return FrameType.CANCEL; }
    }

    /**
     * A control message between two agents around the engine's frames (prepare a migration, the
     * destination is ready, progress, the final report): a UTF-8 JSON object; its body is the whole frame body.
     */
    record Control(String json) implements Frame {
        public Control {
            Objects.requireNonNull(json, "json");
        }
        @Override public FrameType type() { return FrameType.CONTROL; }
    }

    /** A frame of a type this version does not know, flagged ignorable by the sender. */
    record Unknown(int code, int flags, ByteBuffer body) implements Frame {
        @Override public FrameType type() { return null; }
    }
}
