package io.vmmig.nbd.server;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Parses the data of handshake options; malformed data raises {@link MalformedOptionException}. */
final class OptionDecoder {
    /** Longest string (export name, query) the spec allows. */
    static final int MAX_STRING = 4096;

    private OptionDecoder() {}

    /** Data of NBD_OPT_INFO / NBD_OPT_GO. */
    record InfoRequest(String exportName, List<Integer> infoTypes) {}

    /** Data of NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT. */
    record MetaContextRequest(String exportName, List<String> queries) {}

    static InfoRequest infoRequest(ByteBuffer data) throws MalformedOptionException {
        try {
            String name = string(data, data.getInt());
            int n = Short.toUnsignedInt(data.getShort());
            if (data.remaining() != 2 * n) {
                throw new MalformedOptionException("information request count " + n + " does not match the "
                        + data.remaining() + " bytes left in the option");
            }
            List<Integer> infos = new ArrayList<>(n);
            for (int i = 0; i < n; i++) infos.add(Short.toUnsignedInt(data.getShort()));
            return new InfoRequest(name, infos);
        } catch (BufferUnderflowException e) {
            throw new MalformedOptionException("option data too short for an INFO/GO request");
        }
    }

    static MetaContextRequest metaContextRequest(ByteBuffer data) throws MalformedOptionException {
        try {
            String name = string(data, data.getInt());
            long n = Integer.toUnsignedLong(data.getInt());
            if (n * 4 > data.remaining()) {
                throw new MalformedOptionException("query count " + n + " cannot fit in the " + data.remaining() + " bytes left");
            }
            List<String> queries = new ArrayList<>((int) n);
            for (long i = 0; i < n; i++) queries.add(string(data, data.getInt()));
            if (data.hasRemaining()) throw new MalformedOptionException(data.remaining() + " trailing bytes after the queries");
            return new MetaContextRequest(name, queries);
        } catch (BufferUnderflowException e) {
            throw new MalformedOptionException("option data too short for a meta context request");
        }
    }

    /** A UTF-8 string of {@code length} bytes (unsigned) that must fit in what is left of {@code data}. */
    static String string(ByteBuffer data, int length) throws MalformedOptionException {
        long len = Integer.toUnsignedLong(length);
        if (len > data.remaining()) {
            throw new MalformedOptionException("string length " + len + " exceeds the " + data.remaining() + " bytes left in the option");
        }
        if (len > MAX_STRING) throw new MalformedOptionException("string of " + len + " bytes exceeds the limit of " + MAX_STRING);
        ByteBuffer s = data.slice(data.position(), (int) len);
        data.position(data.position() + (int) len);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(s).toString();
        } catch (CharacterCodingException e) {
            throw new MalformedOptionException("string is not valid UTF-8");
        }
    }
}
