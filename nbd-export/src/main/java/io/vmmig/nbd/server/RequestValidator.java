package io.vmmig.nbd.server;

import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdErrno;

/** Decides which error (if any) a request gets before it reaches the backend, per the NBD spec. */
final class RequestValidator {
    private final NegotiatedSession session;
    private final long size;
    private final boolean readOnly;
    private final int maxPayload;

    RequestValidator(NegotiatedSession session, int maxPayload) {
        this.session = session;
        this.size = session.export().backend().size();
        this.readOnly = session.export().backend().readOnly();
        this.maxPayload = maxPayload;
    }

    /** A rejection: the error to send and why. */
    record Rejection(NbdErrno errno, String reason) {}

    /** @return null if the request may be executed */
    Rejection check(NbdRequest r) {
        NbdCommand cmd = r.command();
        if (cmd == null) return new Rejection(NbdErrno.EINVAL, "unknown command " + r.type());
        int tx = session.transmissionFlags();
        if ((r.flags() & ~cmd.allowedFlags) != 0) {
            return new Rejection(NbdErrno.EINVAL, String.format("flags 0x%x not allowed for %s", r.flags(), cmd));
        }
        boolean mutates = cmd == NbdCommand.WRITE || cmd == NbdCommand.WRITE_ZEROES || cmd == NbdCommand.TRIM;
        if (mutates && readOnly) return new Rejection(NbdErrno.EPERM, cmd + " on a read-only export");
        if (cmd.requiredTransmissionFlag != 0 && (tx & cmd.requiredTransmissionFlag) == 0) {
            return new Rejection(NbdErrno.EINVAL, cmd + " was not advertised for this export");
        }
        if (r.hasFlag(NbdCommand.FLAG_FUA) && (tx & NbdCommand.TX_SEND_FUA) == 0) {
            return new Rejection(NbdErrno.EINVAL, "FUA was not advertised");
        }
        if (r.hasFlag(NbdCommand.FLAG_DF) && !session.structuredReplies()) {
            return new Rejection(NbdErrno.EINVAL, "DF needs structured replies");
        }
        if (r.hasFlag(NbdCommand.FLAG_FAST_ZERO) && (tx & NbdCommand.TX_SEND_FAST_ZERO) == 0) {
            return new Rejection(NbdErrno.EINVAL, "FAST_ZERO was not advertised");
        }
        switch (cmd) {
            case DISC:
                return null;
            case FLUSH:
                return r.offset() != 0 || r.length() != 0
                        ? new Rejection(NbdErrno.EINVAL, "FLUSH must have zero offset and length") : null;
            case BLOCK_STATUS:
                if (session.contexts().isEmpty()) {
                    return new Rejection(NbdErrno.EINVAL, "BLOCK_STATUS without a selected metadata context");
                }
                if (r.length() == 0) return new Rejection(NbdErrno.EINVAL, "BLOCK_STATUS of zero length");
                break;
            default:
                break;
        }
        if (r.offset() < 0 || r.offset() > size || r.length() > size - r.offset()) {
            NbdErrno e = cmd == NbdCommand.WRITE || cmd == NbdCommand.WRITE_ZEROES ? NbdErrno.ENOSPC : NbdErrno.EINVAL;
            return new Rejection(e, String.format("%s [%s, +%d) is outside the export of %d bytes",
                    cmd, Long.toUnsignedString(r.offset()), r.length(), size));
        }
        if (cmd == NbdCommand.READ && r.length() > maxPayload) {
            return new Rejection(session.structuredReplies() ? NbdErrno.EOVERFLOW : NbdErrno.EINVAL,
                    "READ of " + r.length() + " bytes exceeds the maximum payload of " + maxPayload);
        }
        return null;
    }
}
