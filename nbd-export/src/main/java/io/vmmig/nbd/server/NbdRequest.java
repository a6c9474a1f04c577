package io.vmmig.nbd.server;

import io.vmmig.nbd.protocol.NbdCommand;

import java.nio.ByteBuffer;

/**
 * One decoded transmission request.
 *
 * @param flags   command flags (16 bits)
 * @param type    command code as sent (may be unknown)
 * @param cookie  the client's handle, echoed in the reply
 * @param offset  byte offset (unsigned 64 bits: negative means beyond 2^63)
 * @param length  byte length (unsigned 32 bits)
 * @param payload WRITE data (flipped, ready to read), or null
 */
public record NbdRequest(int flags, int type, long cookie, long offset, long length, ByteBuffer payload) {
    /** @return the command, or null if {@link #type} is unknown */
    public NbdCommand command() {
        return NbdCommand.of(type);
    }

    public boolean hasFlag(int flag) {
        return (flags & flag) != 0;
    }
}
