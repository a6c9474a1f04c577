package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdCommand;

/** Spec names of transmission flags, for error messages. */
final class TransmissionFlagNames {
    private TransmissionFlagNames() {}

    static String of(int flag) {
        switch (flag) {
            case NbdCommand.TX_READ_ONLY: return "NBD_FLAG_READ_ONLY";
            case NbdCommand.TX_SEND_FLUSH: return "NBD_FLAG_SEND_FLUSH";
            case NbdCommand.TX_SEND_FUA: return "NBD_FLAG_SEND_FUA";
            case NbdCommand.TX_SEND_TRIM: return "NBD_FLAG_SEND_TRIM";
            case NbdCommand.TX_SEND_WRITE_ZEROES: return "NBD_FLAG_SEND_WRITE_ZEROES";
            case NbdCommand.TX_SEND_DF: return "NBD_FLAG_SEND_DF";
            case NbdCommand.TX_SEND_CACHE: return "NBD_FLAG_SEND_CACHE";
            case NbdCommand.TX_SEND_FAST_ZERO: return "NBD_FLAG_SEND_FAST_ZERO";
            default: return "transmission flag 0x" + Integer.toHexString(flag);
        }
    }
}
