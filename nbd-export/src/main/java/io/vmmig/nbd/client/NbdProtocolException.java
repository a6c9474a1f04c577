package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdException;

/** The peer sent bytes that violate the NBD protocol; the connection is unusable afterwards. */
public class NbdProtocolException extends NbdException {
    private static final long serialVersionUID = 1L;

    public NbdProtocolException(String message) { super(message); }
}
