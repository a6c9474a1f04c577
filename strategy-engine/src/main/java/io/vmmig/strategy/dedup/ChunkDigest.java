package io.vmmig.strategy.dedup;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** The fingerprint of a chunk for dedup: SHA-256 of its bytes (JDK provider). */
public final class ChunkDigest {
    private ChunkDigest() { }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }

    /** SHA-256 of {@code data}'s remaining bytes (its position is left as it was). */
    public static byte[] of(MessageDigest md, ByteBuffer data) {
        md.reset();
        md.update(data.duplicate());
        return md.digest();
    }
}
