package io.vmmig.nbd.server;

import io.vmmig.nbd.protocol.NbdMagic;
import io.vmmig.nbd.protocol.NbdOption;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The server side of the fixed newstyle handshake, run on the connection's thread. Ends with a
 * {@link NegotiatedSession} (GO or EXPORT_NAME), with null (ABORT), or with an exception (broken peer).
 */
final class Negotiation {
    /** Option data longer than this is refused with NBD_REP_ERR_TOO_BIG and the connection is closed. */
    static final int MAX_OPTION_DATA = 16 * 1024;
    private static final int MAX_OPTIONS = 1024;

    private final ConnectionChannel channel;
    private final Map<String, NbdExport> exports;
    private final NbdExport defaultExport;
    private final int maxPayload;

    private boolean noZeroes;
    private boolean fixedNewstyle;
    private boolean structured;
    private String contextExport;
    private List<SelectedContext> contexts = List.of();

    Negotiation(ConnectionChannel channel, Map<String, NbdExport> exports, NbdExport defaultExport, int maxPayload) {
        this.channel = channel;
        this.exports = exports;
        this.defaultExport = defaultExport;
        this.maxPayload = maxPayload;
    }

    NegotiatedSession run() throws IOException {
        channel.write(OptionReplyEncoder.greeting(NbdMagic.FLAG_FIXED_NEWSTYLE | NbdMagic.FLAG_NO_ZEROES));
        int clientFlags = channel.readExactly(4).getInt();
        if ((clientFlags & ~(NbdMagic.CLIENT_FLAG_FIXED_NEWSTYLE | NbdMagic.CLIENT_FLAG_NO_ZEROES)) != 0) {
            throw new NbdProtocolException(String.format("unknown client handshake flags 0x%08x", clientFlags));
        }
        fixedNewstyle = (clientFlags & NbdMagic.CLIENT_FLAG_FIXED_NEWSTYLE) != 0;
        noZeroes = (clientFlags & NbdMagic.CLIENT_FLAG_NO_ZEROES) != 0;
        for (int count = 0; count < MAX_OPTIONS; count++) {
            ByteBuffer h = channel.readExactly(16);
            long magic = h.getLong();
            if (magic != NbdMagic.IHAVEOPT) throw new NbdProtocolException(String.format("bad option magic 0x%016x", magic));
            int option = h.getInt();
            long length = Integer.toUnsignedLong(h.getInt());
            if (!fixedNewstyle && option != NbdOption.EXPORT_NAME.code) {
                throw new NbdProtocolException("option " + option + " sent without fixed newstyle negotiation");
            }
            if (length > MAX_OPTION_DATA) {
                channel.write(OptionReplyEncoder.error(option, NbdOption.REP_ERR_TOO_BIG,
                        "option data of " + length + " bytes exceeds the limit of " + MAX_OPTION_DATA));
                throw new NbdProtocolException("option " + option + " data of " + length + " bytes exceeds " + MAX_OPTION_DATA);
            }
            ByteBuffer data = channel.readExactly((int) length);
            NbdOption known = NbdOption.of(option);
            if (known == null) {
                channel.write(OptionReplyEncoder.error(option, NbdOption.REP_ERR_UNSUP, "unsupported option " + option));
                continue;
            }
            try {
                switch (known) {
                    case EXPORT_NAME: return exportName(data);
                    case ABORT:
                        channel.write(OptionReplyEncoder.ack(option));
                        return null;
                    case LIST: list(option, data); break;
                    case STRUCTURED_REPLY: structuredReply(option, data); break;
                    case INFO:
                    case GO: {
                        NegotiatedSession s = infoOrGo(option, data, known == NbdOption.GO);
                        if (s != null) return s;
                        break;
                    }
                    case LIST_META_CONTEXT:
                    case SET_META_CONTEXT: metaContext(option, data, known == NbdOption.SET_META_CONTEXT); break;
                    default:
                        channel.write(OptionReplyEncoder.error(option, NbdOption.REP_ERR_UNSUP, "unsupported option " + known));
                }
            } catch (MalformedOptionException e) {
                channel.write(OptionReplyEncoder.error(option, NbdOption.REP_ERR_INVALID, e.getMessage()));
            }
        }
        throw new NbdProtocolException("more than " + MAX_OPTIONS + " options without entering transmission");
    }

    private NbdExport lookup(String name) {
        return name.isEmpty() ? exports.getOrDefault("", defaultExport) : exports.get(name);
    }

    private NegotiatedSession exportName(ByteBuffer data) throws IOException {
        String name = StandardCharsets.UTF_8.decode(data).toString();
        NbdExport export = lookup(name);
        if (export == null) throw new NbdProtocolException("EXPORT_NAME asks for unknown export '" + name + "'");
        NegotiatedSession s = session(export, name);
        channel.write(OptionReplyEncoder.exportNameReply(export.backend().size(), s.transmissionFlags(), noZeroes));
        return s;
    }

    private NegotiatedSession session(NbdExport export, String requestedName) {
        List<SelectedContext> selected = requestedName.equals(contextExport) ? contexts : List.of();
        return new NegotiatedSession(export, structured, selected, export.transmissionFlags(structured));
    }

    private void list(int option, ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            channel.write(OptionReplyEncoder.error(option, NbdOption.REP_ERR_INVALID, "LIST takes no data"));
            return;
        }
        for (NbdExport e : exports.values()) channel.write(OptionReplyEncoder.server(option, e.name()));
        channel.write(OptionReplyEncoder.ack(option));
    }

    private void structuredReply(int option, ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            channel.write(OptionReplyEncoder.error(option, NbdOption.REP_ERR_INVALID, "STRUCTURED_REPLY takes no data"));
            return;
        }
        structured = true;
        channel.write(OptionReplyEncoder.ack(option));
    }

    private NegotiatedSession infoOrGo(int option, ByteBuffer data, boolean go) throws IOException {
        OptionDecoder.InfoRequest req = OptionDecoder.infoRequest(data);
        NbdExport export = lookup(req.exportName());
        if (export == null) {
            channel.write(OptionReplyEncoder.error(option, NbdOption.REP_ERR_UNKNOWN, "no export named '" + req.exportName() + "'"));
            return null;
        }
        NegotiatedSession s = session(export, req.exportName());
        channel.write(OptionReplyEncoder.infoExport(option, export.backend().size(), s.transmissionFlags()));
        if (req.infoTypes().contains(NbdOption.INFO_NAME)) {
            channel.write(OptionReplyEncoder.infoText(option, NbdOption.INFO_NAME, export.name()));
        }
        if (req.infoTypes().contains(NbdOption.INFO_DESCRIPTION) && !export.description().isEmpty()) {
            channel.write(OptionReplyEncoder.infoText(option, NbdOption.INFO_DESCRIPTION, export.description()));
        }
        channel.write(OptionReplyEncoder.infoBlockSize(option, 1, 4096, maxPayload));
        channel.write(OptionReplyEncoder.ack(option));
        return go ? s : null;
    }

    private void metaContext(int option, ByteBuffer data, boolean set) throws IOException {
        if (set) { // SET replaces the selection even when it fails
            contexts = List.of();
            contextExport = null;
        }
        if (!structured) {
            channel.write(OptionReplyEncoder.error(option, NbdOption.REP_ERR_INVALID,
                    "meta contexts need structured replies: send NBD_OPT_STRUCTURED_REPLY first"));
            return;
        }
        OptionDecoder.MetaContextRequest req = OptionDecoder.metaContextRequest(data);
        NbdExport export = lookup(req.exportName());
        if (export == null) {
            channel.write(OptionReplyEncoder.error(option, NbdOption.REP_ERR_UNKNOWN, "no export named '" + req.exportName() + "'"));
            return;
        }
        List<MetaContext> matched = new ArrayList<>();
        for (MetaContext c : export.contexts()) {
            boolean match = !set && req.queries().isEmpty();
            for (String q : req.queries()) {
                if (q.equals(c.name()) || (!set && q.equals(c.namespace()))) match = true;
            }
            if (match) matched.add(c);
        }
        List<SelectedContext> selected = new ArrayList<>();
        for (MetaContext c : matched) {
            int id = set ? selected.size() + 1 : 0;
            selected.add(new SelectedContext(id, c));
            channel.write(OptionReplyEncoder.metaContext(option, id, c.name()));
        }
        if (set) {
            contexts = List.copyOf(selected);
            contextExport = req.exportName();
        }
        channel.write(OptionReplyEncoder.ack(option));
    }
}
