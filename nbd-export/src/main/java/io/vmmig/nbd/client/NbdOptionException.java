package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdException;
import io.vmmig.nbd.protocol.NbdOption;

/** The server refused a negotiation option with an error reply. */
public class NbdOptionException extends NbdException {
    private static final long serialVersionUID = 1L;

    private final int option;
    private final int replyType;

    public NbdOptionException(int option, int replyType, String serverMessage) {
        super("option " + optionName(option) + " refused by the server: " + replyName(replyType)
                + (serverMessage == null || serverMessage.isEmpty() ? "" : ": " + serverMessage));
        this.option = option;
        this.replyType = replyType;
    }

    public int option() { return option; }

    /** @return the NBD_REP_ERR_* value. */
    public int replyType() { return replyType; }

    static String optionName(int option) {
        NbdOption o = NbdOption.of(option);
        return o == null ? "#" + option : "NBD_OPT_" + o.name();
    }

    static String replyName(int type) {
        switch (type) {
            case NbdOption.REP_ERR_UNSUP: return "NBD_REP_ERR_UNSUP";
            case NbdOption.REP_ERR_POLICY: return "NBD_REP_ERR_POLICY";
            case NbdOption.REP_ERR_INVALID: return "NBD_REP_ERR_INVALID";
            case NbdOption.REP_ERR_PLATFORM: return "NBD_REP_ERR_PLATFORM";
            case NbdOption.REP_ERR_TLS_REQD: return "NBD_REP_ERR_TLS_REQD";
            case NbdOption.REP_ERR_UNKNOWN: return "NBD_REP_ERR_UNKNOWN";
            case NbdOption.REP_ERR_SHUTDOWN: return "NBD_REP_ERR_SHUTDOWN";
            case NbdOption.REP_ERR_BLOCK_SIZE_REQD: return "NBD_REP_ERR_BLOCK_SIZE_REQD";
            case NbdOption.REP_ERR_TOO_BIG: return "NBD_REP_ERR_TOO_BIG";
            default: return "reply type 0x" + Integer.toHexString(type);
        }
    }
}
