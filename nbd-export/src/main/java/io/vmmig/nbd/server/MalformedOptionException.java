package io.vmmig.nbd.server;

import io.vmmig.nbd.protocol.NbdException;

/** Option data that does not parse; answered with NBD_REP_ERR_INVALID, the connection stays up. */
final class MalformedOptionException extends NbdException {
    MalformedOptionException(String message) {
        super(message);
    }
}
