package io.vmmig.strategy.peer;

import java.util.Locale;

/**
 * How the source compresses chunk data (push and pull answers alike). Whatever the mode, a chunk whose
 * compressed form does not save at least 1/64 of its bytes goes {@link Frame.Encoding#RAW}: the
 * encoding byte of its CHUNK_DATA frame says which, so incompressible data costs no extra byte.
 */
public enum ChunkCompression {
    /** Never compressed (all-zero chunks still go as ZERO). */
    OFF,
    /** java.util.zip deflate, best speed: the former {@code compress} option. */
    DEFLATE,
    /** zstd level 1 on every chunk. */
    ZSTD,
    /** zstd when it makes the transfer faster: on while the link is the bottleneck, off while the CPU is. */
    ADAPTIVE;

    /** {@code off}, {@code deflate}, {@code zstd} or {@code adaptive} (any case). */
    public static ChunkCompression parse(String s) {
        try {
            return valueOf(s.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown compression '" + s + "' (off, deflate, zstd, adaptive)");
        }
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
