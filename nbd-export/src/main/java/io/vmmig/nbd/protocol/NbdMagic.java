package io.vmmig.nbd.protocol;

/** Magic numbers and handshake flags of the NBD protocol (doc/proto.md of the NBD project). */
public final class NbdMagic {
    private NbdMagic() {}

    /** "NBDMAGIC": first 8 bytes the server sends. */
    public static final long NBDMAGIC = 0x4e42444d41474943L;
    /** "IHAVEOPT": newstyle negotiation magic, sent by the server after NBDMAGIC and before each client option. */
    public static final long IHAVEOPT = 0x49484156454F5054L;
    /** Magic of every option reply. */
    public static final long OPTION_REPLY = 0x0003e889045565a9L;
    public static final int REQUEST = 0x25609513;
    public static final int SIMPLE_REPLY = 0x67446698;
    public static final int STRUCTURED_REPLY = 0x668e33ef;

    /** Server handshake flags. */
    public static final int FLAG_FIXED_NEWSTYLE = 1;
    public static final int FLAG_NO_ZEROES = 1 << 1;
    /** Client handshake flags. */
    public static final int CLIENT_FLAG_FIXED_NEWSTYLE = 1;
    public static final int CLIENT_FLAG_NO_ZEROES = 1 << 1;

    /** Simple request header: magic(4) flags(2) type(2) cookie(8) offset(8) length(4). */
    public static final int REQUEST_HEADER_SIZE = 28;
    /** Simple reply header: magic(4) error(4) cookie(8). */
    public static final int SIMPLE_REPLY_HEADER_SIZE = 16;
    /** Structured reply chunk header: magic(4) flags(2) type(2) cookie(8) length(4). */
    public static final int STRUCTURED_REPLY_HEADER_SIZE = 20;
}
