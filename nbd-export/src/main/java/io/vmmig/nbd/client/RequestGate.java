package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdCommand;

/**
 * Local admission of a request, libnbd-style: the command's required transmission flag (from the
 * {@link NbdCommand} table), flags valid for it and advertised, read-only exports, bounds and the
 * minimum block size alignment.
 */
final class RequestGate {
    private final ExportInfo info;
    private final boolean checkBounds;

    RequestGate(ExportInfo info, boolean checkBounds) {
        this.info = info;
        this.checkBounds = checkBounds;
    }

    /** @return why this request may not be sent, or null. */
    NbdRefusedException refusal(NbdCommand cmd, int flags, long offset, long length) {
        if (cmd.requiredTransmissionFlag != 0 && !info.has(cmd.requiredTransmissionFlag)) {
            return new NbdRefusedException(cmd + " refused: export '" + info.name() + "' does not advertise "
                    + TransmissionFlagNames.of(cmd.requiredTransmissionFlag));
        }
        if ((flags & ~cmd.allowedFlags) != 0) {
            return new NbdRefusedException(cmd + " refused: flags 0x" + Integer.toHexString(flags & ~cmd.allowedFlags) + " not valid for it");
        }
        if ((cmd == NbdCommand.WRITE || cmd == NbdCommand.TRIM || cmd == NbdCommand.WRITE_ZEROES) && info.readOnly()) {
            return new NbdRefusedException(cmd + " refused: export '" + info.name() + "' is read-only");
        }
        if ((flags & NbdCommand.FLAG_FUA) != 0 && !info.has(NbdCommand.TX_SEND_FUA)) {
            return new NbdRefusedException(cmd + " with FUA refused: export does not advertise " + TransmissionFlagNames.of(NbdCommand.TX_SEND_FUA));
        }
        if ((flags & NbdCommand.FLAG_FAST_ZERO) != 0 && !info.has(NbdCommand.TX_SEND_FAST_ZERO)) {
            return new NbdRefusedException(cmd + " with FAST_ZERO refused: export does not advertise " + TransmissionFlagNames.of(NbdCommand.TX_SEND_FAST_ZERO));
        }
        if ((flags & NbdCommand.FLAG_DF) != 0 && !(info.has(NbdCommand.TX_SEND_DF) && info.structuredReplies())) {
            return new NbdRefusedException(cmd + " with DF refused: export does not advertise NBD_FLAG_SEND_DF with structured replies");
        }
        if (cmd == NbdCommand.BLOCK_STATUS && info.metaContexts().isEmpty()) {
            return new NbdRefusedException("BLOCK_STATUS refused: no meta context was negotiated" + (info.structuredReplies() ? "" : " (no structured replies)"));
        }
        if (offset < 0 || length < 0 || offset + length < 0) {
            return new NbdRefusedException(cmd + " refused: negative range offset=" + offset + " length=" + length);
        }
        if (checkBounds && offset + length > info.size()) {
            return new NbdRefusedException(cmd + " refused: range offset=" + offset + " length=" + length
                    + " goes past the end of export '" + info.name() + "' (size " + info.size() + ")");
        }
        int min = info.minimumBlockSize();
        if (min > 1 && ((offset | length) & (min - 1)) != 0) {
            return new NbdRefusedException(cmd + " refused: offset=" + offset + " length=" + length
                    + " not aligned to the minimum block size " + min);
        }
        return null;
    }
}
