package io.vmmig.nbd.protocol;

/**
 * The one table of transmission-phase commands: code, the flags a request of this type may carry,
 * whether the request carries a payload, and which transmission flag the server must advertise
 * before a client may send it (0: always allowed).
 */
public enum NbdCommand {
    READ(0, NbdCommand.FLAG_FUA | NbdCommand.FLAG_DF, false, 0),
    WRITE(1, NbdCommand.FLAG_FUA, true, 0),
    DISC(2, 0, false, 0),
    FLUSH(3, 0, false, NbdCommand.TX_SEND_FLUSH),
    TRIM(4, NbdCommand.FLAG_FUA, false, NbdCommand.TX_SEND_TRIM),
    CACHE(5, 0, false, NbdCommand.TX_SEND_CACHE),
    WRITE_ZEROES(6, NbdCommand.FLAG_FUA | NbdCommand.FLAG_NO_HOLE | NbdCommand.FLAG_FAST_ZERO, false,
            NbdCommand.TX_SEND_WRITE_ZEROES),
    BLOCK_STATUS(7, NbdCommand.FLAG_REQ_ONE, false, 0);

    public final int code;
    public final int allowedFlags;
    public final boolean hasPayload;
    public final int requiredTransmissionFlag;

    NbdCommand(int code, int allowedFlags, boolean hasPayload, int requiredTransmissionFlag) {
        this.code = code;
        this.allowedFlags = allowedFlags;
        this.hasPayload = hasPayload;
        this.requiredTransmissionFlag = requiredTransmissionFlag;
    }

    private static final NbdCommand[] BY_CODE = new NbdCommand[8];
    static {
        for (NbdCommand c : values()) BY_CODE[c.code] = c;
    }

    /** @return the command with this code, or null if unknown. */
    public static NbdCommand of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    /** Command flags (request header). */
    public static final int FLAG_FUA = 1;
    public static final int FLAG_NO_HOLE = 1 << 1;
    public static final int FLAG_DF = 1 << 2;
    public static final int FLAG_REQ_ONE = 1 << 3;
    public static final int FLAG_FAST_ZERO = 1 << 4;

    /** Transmission flags (per export, sent with NBD_INFO_EXPORT). */
    public static final int TX_HAS_FLAGS = 1;
    public static final int TX_READ_ONLY = 1 << 1;
    public static final int TX_SEND_FLUSH = 1 << 2;
    public static final int TX_SEND_FUA = 1 << 3;
    public static final int TX_ROTATIONAL = 1 << 4;
    public static final int TX_SEND_TRIM = 1 << 5;
    public static final int TX_SEND_WRITE_ZEROES = 1 << 6;
    public static final int TX_SEND_DF = 1 << 7;
    public static final int TX_CAN_MULTI_CONN = 1 << 8;
    public static final int TX_SEND_RESIZE = 1 << 9;
    public static final int TX_SEND_CACHE = 1 << 10;
    public static final int TX_SEND_FAST_ZERO = 1 << 11;
}
