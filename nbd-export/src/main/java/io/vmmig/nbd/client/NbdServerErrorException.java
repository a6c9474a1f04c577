package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdErrno;
import io.vmmig.nbd.protocol.NbdException;

/** The server answered a transmission request with an error (simple reply error or ERROR/ERROR_OFFSET chunk). */
public class NbdServerErrorException extends NbdException {
    private static final long serialVersionUID = 1L;

    private final NbdCommand command;
    private final int errno;
    private final long errorOffset;

    public NbdServerErrorException(NbdCommand command, long offset, long length, int errno, long errorOffset,
                                   String serverMessage) {
        super(command + " offset=" + offset + " length=" + length + " failed on the server: "
                + NbdErrno.of(errno) + " (" + errno + ")"
                + (errorOffset >= 0 ? " at offset " + errorOffset : "")
                + (serverMessage == null || serverMessage.isEmpty() ? "" : ": " + serverMessage));
        this.command = command;
        this.errno = errno;
        this.errorOffset = errorOffset;
    }

    public NbdCommand command() { return command; }

    /** @return the raw NBD error value sent by the server. */
    public int errnoValue() { return errno; }

    public NbdErrno errno() { return NbdErrno.of(errno); }

    /** @return the offset of an ERROR_OFFSET chunk, or -1. */
    public long errorOffset() { return errorOffset; }
}
