package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdMagic;
import io.vmmig.nbd.protocol.NbdOption;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fixed newstyle negotiation on a blocking channel: greeting, STRUCTURED_REPLY, SET_META_CONTEXT,
 * GO/INFO, LIST, ABORT. Option error replies become {@link NbdOptionException}.
 */
final class OptionNegotiator {
    /** Largest option reply payload accepted (strings are at most 4 KiB by the spec). */
    static final int MAX_OPTION_REPLY = 1 << 20;

    private final ByteChannel channel;

    OptionNegotiator(ByteChannel channel) {
        this.channel = channel;
    }

    /** Reads the server greeting and answers with the client flags. */
    void greet() throws IOException {
        ByteBuffer g = readFully(18);
        long magic = g.getLong();
        if (magic != NbdMagic.NBDMAGIC) throw new NbdProtocolException("not an NBD server: bad magic 0x" + Long.toHexString(magic));
        long opt = g.getLong();
        if (opt != NbdMagic.IHAVEOPT) throw new NbdProtocolException("server does not speak newstyle negotiation (0x" + Long.toHexString(opt) + ")");
        int flags = g.getShort() & 0xffff;
        if ((flags & NbdMagic.FLAG_FIXED_NEWSTYLE) == 0) throw new NbdProtocolException("server does not speak fixed newstyle negotiation");
        int clientFlags = NbdMagic.CLIENT_FLAG_FIXED_NEWSTYLE | (flags & NbdMagic.FLAG_NO_ZEROES);
        writeFully(ByteBuffer.allocate(4).putInt(0, clientFlags));
    }

    /** @return true if the server accepted structured replies, false if it does not support them */
    boolean structuredReply() throws IOException {
        sendOption(NbdOption.STRUCTURED_REPLY.code, new byte[0]);
        OptionReply r = readReply(NbdOption.STRUCTURED_REPLY.code);
        if (r.type == NbdOption.REP_ACK) return true;
        if (r.type == NbdOption.REP_ERR_UNSUP) return false;
        throw unexpected(r);
    }

    /** @return the contexts the server accepted, name to id, in reply order */
    Map<String, Integer> setMetaContexts(String exportName, List<String> queries) throws IOException {
        byte[] name = utf8(exportName);
        int size = 4 + name.length + 4;
        List<byte[]> q = new ArrayList<>();
        for (String s : queries) {
            byte[] b = utf8(s);
            q.add(b);
            size += 4 + b.length;
        }
        ByteBuffer d = ByteBuffer.allocate(size);
        d.putInt(name.length).put(name).putInt(q.size());
        for (byte[] b : q) d.putInt(b.length).put(b);
        sendOption(NbdOption.SET_META_CONTEXT.code, d.array());
        Map<String, Integer> ids = new LinkedHashMap<>();
        while (true) {
            OptionReply r = readReply(NbdOption.SET_META_CONTEXT.code);
            if (r.type == NbdOption.REP_ACK) return ids;
            if (r.type != NbdOption.REP_META_CONTEXT || r.data.length < 4) throw unexpected(r);
            ByteBuffer p = ByteBuffer.wrap(r.data);
            int id = p.getInt();
            ids.put(new String(r.data, 4, r.data.length - 4, StandardCharsets.UTF_8), id);
        }
    }

    /**
     * Sends GO (or INFO) asking for block sizes.
     * @return the export's info (meta contexts and structured replies filled in by the caller)
     */
    ExportInfo goOrInfo(boolean go, String exportName, boolean structured, Map<String, Integer> contexts)
            throws IOException {
        int option = go ? NbdOption.GO.code : NbdOption.INFO.code;
        byte[] name = utf8(exportName);
        ByteBuffer d = ByteBuffer.allocate(4 + name.length + 2 + 2);
        d.putInt(name.length).put(name).putShort((short) 1).putShort((short) NbdOption.INFO_BLOCK_SIZE);
        sendOption(option, d.array());
        long size = -1;
        int txFlags = 0, min = 0, pref = 0, max = 0;
        String description = null;
        while (true) {
            OptionReply r = readReply(option);
            if (r.type == NbdOption.REP_ACK) break;
            if (r.type != NbdOption.REP_INFO || r.data.length < 2) throw unexpected(r);
            ByteBuffer p = ByteBuffer.wrap(r.data);
            int info = p.getShort() & 0xffff;
            if (info == NbdOption.INFO_EXPORT) {
                if (r.data.length != 12) throw new NbdProtocolException("NBD_INFO_EXPORT of length " + r.data.length);
                size = p.getLong();
                txFlags = p.getShort() & 0xffff;
                if (size < 0) throw new NbdProtocolException("export size out of range: " + Long.toUnsignedString(size));
            } else if (info == NbdOption.INFO_BLOCK_SIZE) {
                if (r.data.length != 14) throw new NbdProtocolException("NBD_INFO_BLOCK_SIZE of length " + r.data.length);
                min = p.getInt();
                pref = p.getInt();
                max = p.getInt();
                if (min <= 0 || Integer.bitCount(min) != 1 || min > 65536 || pref < min || Integer.bitCount(pref) != 1
                        || (max != -1 && (max < pref && max != 0))) {
                    throw new NbdProtocolException("invalid block size constraints min=" + min + " pref=" + pref + " max=" + max);
                }
                if (max == -1) max = Integer.MAX_VALUE & ~(min - 1);
            } else if (info == NbdOption.INFO_DESCRIPTION) {
                description = new String(r.data, 2, r.data.length - 2, StandardCharsets.UTF_8);
            }
            // NBD_INFO_NAME and unknown info types are ignored as the spec requires.
        }
        if (size < 0) throw new NbdProtocolException(NbdOptionException.optionName(option) + " acknowledged without NBD_INFO_EXPORT");
        return new ExportInfo(exportName, description, size, txFlags, min, pref, max, structured, contexts);
    }

    List<ExportListing> list() throws IOException {
        sendOption(NbdOption.LIST.code, new byte[0]);
        List<ExportListing> out = new ArrayList<>();
        while (true) {
            OptionReply r = readReply(NbdOption.LIST.code);
            if (r.type == NbdOption.REP_ACK) return out;
            if (r.type != NbdOption.REP_SERVER || r.data.length < 4) throw unexpected(r);
            ByteBuffer p = ByteBuffer.wrap(r.data);
            int len = p.getInt();
            if (len < 0 || len > r.data.length - 4) throw new NbdProtocolException("NBD_REP_SERVER name length " + len + " exceeds reply");
            String name = new String(r.data, 4, len, StandardCharsets.UTF_8);
            String desc = new String(r.data, 4 + len, r.data.length - 4 - len, StandardCharsets.UTF_8);
            out.add(new ExportListing(name, desc));
        }
    }

    /** Ends negotiation without entering transmission; the server's ACK is optional. */
    void abort() throws IOException {
        sendOption(NbdOption.ABORT.code, new byte[0]);
    }

    private void sendOption(int option, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16 + data.length);
        b.putLong(NbdMagic.IHAVEOPT).putInt(option).putInt(data.length).put(data).flip();
        writeFully(b);
    }

    private record OptionReply(int option, int type, byte[] data) {}

    private OptionReply readReply(int option) throws IOException {
        ByteBuffer h = readFully(20);
        long magic = h.getLong();
        if (magic != NbdMagic.OPTION_REPLY) throw new NbdProtocolException("bad option reply magic 0x" + Long.toHexString(magic));
        int opt = h.getInt();
        int type = h.getInt();
        int len = h.getInt();
        if (opt != option) {
            throw new NbdProtocolException("reply for option " + NbdOptionException.optionName(opt) + " while waiting for "
                    + NbdOptionException.optionName(option));
        }
        if (len < 0 || len > MAX_OPTION_REPLY) throw new NbdProtocolException("option reply length " + Integer.toUnsignedString(len) + " too large");
        byte[] data = new byte[len];
        readFully(ByteBuffer.wrap(data));
        if ((type & NbdOption.REP_FLAG_ERROR) != 0) {
            if (type == NbdOption.REP_ERR_UNSUP && option == NbdOption.STRUCTURED_REPLY.code) return new OptionReply(opt, type, data);
            throw new NbdOptionException(option, type, new String(data, StandardCharsets.UTF_8));
        }
        return new OptionReply(opt, type, data);
    }

    private static NbdProtocolException unexpected(OptionReply r) {
        return new NbdProtocolException("unexpected reply type 0x" + Integer.toHexString(r.type) + " (length "
                + r.data.length + ") to " + NbdOptionException.optionName(r.option));
    }

    private ByteBuffer readFully(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        readFully(b);
        return b.flip();
    }

    private void readFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) throw new NbdConnectionLostException("server closed the connection during negotiation", null);
        }
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) channel.write(b);
    }

    private static byte[] utf8(String s) throws NbdRefusedException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > 4096) throw new NbdRefusedException("string longer than 4096 bytes: " + s.substring(0, 40) + "...");
        return b;
    }
}
