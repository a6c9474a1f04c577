package io.vmmig.nbd.backend;

import io.vmmig.nbd.protocol.NbdErrno;
import io.vmmig.nbd.protocol.NbdException;

/** A backend operation failed; {@link #errno()} is what the server sends to the NBD client. */
public class BackendException extends NbdException {
    private final NbdErrno errno;

    public BackendException(NbdErrno errno, String message) {
        super(message);
        this.errno = errno;
    }

    public BackendException(NbdErrno errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    public NbdErrno errno() {
        return errno;
    }
}
