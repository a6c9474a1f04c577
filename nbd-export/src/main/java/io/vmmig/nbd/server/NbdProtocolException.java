package io.vmmig.nbd.server;

import io.vmmig.nbd.protocol.NbdException;

/** The peer broke the protocol in a way that cannot be answered with an error reply: the connection must close. */
public class NbdProtocolException extends NbdException {
    public NbdProtocolException(String message) {
        super(message);
    }
}
