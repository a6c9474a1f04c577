package io.vmmig.nbd.client;

import java.nio.ByteBuffer;

/**
 * Receives the replies a {@link ReplyDecoder} decodes. Any method may throw
 * {@link NbdProtocolException} to reject a reply that does not fit the request it names (unknown
 * cookie, data outside the requested range...).
 */
public interface ReplyListener {

    /**
     * A simple reply header arrived.
     * @return how many payload bytes follow it (the length of a successful READ, else 0)
     */
    long onSimpleReply(long cookie, int error) throws NbdProtocolException;

    /** @return where the {@code length} payload bytes of a simple READ reply go (remaining == length), or null to discard them. */
    ByteBuffer simpleDataTarget(long cookie, int length) throws NbdProtocolException;

    /** The simple reply (and its payload, if any) is complete. */
    void onSimpleReplyDone(long cookie) throws NbdProtocolException;

    /** @return where the data of an OFFSET_DATA chunk goes (remaining == length), or null to discard it. */
    ByteBuffer dataTarget(long cookie, long offset, int length) throws NbdProtocolException;

    /** An OFFSET_DATA chunk has been fully copied into its target. */
    void onData(long cookie, int flags, long offset, int length) throws NbdProtocolException;

    void onHole(long cookie, int flags, long offset, int length) throws NbdProtocolException;

    /** @param extents pairs (length, flags) as sent, unsigned 32-bit values held in ints */
    void onBlockStatus(long cookie, int flags, int contextId, int[] extents) throws NbdProtocolException;

    /** @param errorOffset the offset of an ERROR_OFFSET chunk, or -1 */
    void onError(long cookie, int flags, int type, int errno, String message, long errorOffset)
            throws NbdProtocolException;

    /** A NONE chunk (always with the DONE flag). */
    void onNone(long cookie, int flags) throws NbdProtocolException;
}
