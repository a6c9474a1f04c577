package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdException;

/** A request, the handshake or a wait for in-flight capacity passed its deadline. */
public class NbdTimeoutException extends NbdException {
    private static final long serialVersionUID = 1L;

    public NbdTimeoutException(String message) { super(message); }
}
