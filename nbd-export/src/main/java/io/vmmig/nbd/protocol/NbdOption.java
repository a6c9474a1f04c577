package io.vmmig.nbd.protocol;

/** Option codes of the newstyle negotiation phase. */
public enum NbdOption {
    EXPORT_NAME(1), ABORT(2), LIST(3), PEEK_EXPORT(4), STARTTLS(5), INFO(6), GO(7),
    STRUCTURED_REPLY(8), LIST_META_CONTEXT(9), SET_META_CONTEXT(10), EXTENDED_HEADERS(11);

    public final int code;

    NbdOption(int code) { this.code = code; }

    /** @return the option with this code, or null if unknown to vmmig. */
    public static NbdOption of(int code) {
        for (NbdOption o : values()) if (o.code == code) return o;
        return null;
    }

    /** Option reply types; error replies have bit 31 set. */
    public static final int REP_ACK = 1;
    public static final int REP_SERVER = 2;
    public static final int REP_INFO = 3;
    public static final int REP_META_CONTEXT = 4;
    public static final int REP_FLAG_ERROR = 1 << 31;
    public static final int REP_ERR_UNSUP = REP_FLAG_ERROR | 1;
    public static final int REP_ERR_POLICY = REP_FLAG_ERROR | 2;
    public static final int REP_ERR_INVALID = REP_FLAG_ERROR | 3;
    public static final int REP_ERR_PLATFORM = REP_FLAG_ERROR | 4;
    public static final int REP_ERR_TLS_REQD = REP_FLAG_ERROR | 5;
    public static final int REP_ERR_UNKNOWN = REP_FLAG_ERROR | 6;
    public static final int REP_ERR_SHUTDOWN = REP_FLAG_ERROR | 7;
    public static final int REP_ERR_BLOCK_SIZE_REQD = REP_FLAG_ERROR | 8;
    public static final int REP_ERR_TOO_BIG = REP_FLAG_ERROR | 9;

    /** NBD_INFO_* types carried by REP_INFO and requested by INFO/GO. */
    public static final int INFO_EXPORT = 0;
    public static final int INFO_NAME = 1;
    public static final int INFO_DESCRIPTION = 2;
    public static final int INFO_BLOCK_SIZE = 3;
}
