package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdException;

/** The connection died (EOF, I/O error, protocol violation, close) while requests were pending. */
public class NbdConnectionLostException extends NbdException {
    private static final long serialVersionUID = 1L;

    public NbdConnectionLostException(String message, Throwable cause) { super(message, cause); }
}
