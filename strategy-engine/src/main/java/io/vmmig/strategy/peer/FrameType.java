package io.vmmig.strategy.peer;

/**
 * The one table of peer frames between a source and a destination agent. Codes are stable on the
 * wire. Frames marked {@code ignorable} may be skipped by a peer that does not know them (the
 * {@link Frame#FLAG_IGNORABLE} flag says so on the wire), which is how later versions add
 * fingerprints, compression and resume without a new protocol.
 */
public enum FrameType {
    /** Opens a connection: protocol version, migration id, authorization token. */
    HELLO(1),
    /** Destination accepts a HELLO. */
    WELCOME(2),
    /** Chunk bytes: a push before cutover, or the answer to a PULL. */
    CHUNK_DATA(3),
    /** Destination asks for chunks after cutover (on demand or background). */
    PULL(4),
    /** Destination stored a CHUNK_DATA (push acknowledgement). */
    ACK(5),
    /** Source hands over at cutover: the chunks still missing and every chunk's write count. */
    REMAINING(6),
    /** Either side: nothing more will be sent on this migration. */
    DONE(7),
    /** Either side: the migration failed or was refused; code and message. */
    ERROR(8),
    /** Source cancels the migration before cutover. */
    CANCEL(9),
    /** Agent-to-agent control message (JSON): prepare, ready, progress, finished. Not used by the engine. */
    CONTROL(10),
    /** Source: the SHA-256 of the chunks it is about to push (dedup, seed 003); answered by HAVE. */
    FINGERPRINTS(16),
    /** Destination: which fingerprinted chunks it found locally (verified and stored); the others follow as CHUNK_DATA. */
    HAVE(17),
    /**
     * Destination, first frame after WELCOME on a connection it opened to the source after the pull's
     * link broke (or after either agent restarted): it goes on pulling; how many chunks it holds and misses.
     */
    RESUME(18);

    public final int code;

    FrameType(int code) { this.code = code; }

    private static final FrameType[] BY_CODE = new FrameType[256];
    static {
        for (FrameType t : values()) BY_CODE[t.code] = t;
    }

    /** @return the type for this wire code, or null when unknown to this version. */
    public static FrameType of(int code) {
        return code >= 0 && code < 256 ? BY_CODE[code] : null;
    }
}
