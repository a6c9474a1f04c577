package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdException;

/**
 * A request refused locally before anything was sent: the export does not advertise the command or
 * flag, the export is read-only, the arguments are out of range, or the client is closed.
 */
public class NbdRefusedException extends NbdException {
    private static final long serialVersionUID = 1L;

    public NbdRefusedException(String message) { super(message); }
}
