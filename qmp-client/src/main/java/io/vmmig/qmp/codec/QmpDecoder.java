package io.vmmig.qmp.codec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.qmp.QmpEvent;
import io.vmmig.qmp.QmpGreeting;
import io.vmmig.qmp.QmpProtocolException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes QMP server messages from arbitrary byte chunks and hands each to a {@link QmpMessageHandler}.
 * Knows nothing of sockets. Anything that is not valid QMP from a server raises {@link QmpProtocolException};
 * after that the decoder must not be fed again.
 */
public final class QmpDecoder {
    /** Default bound on one message (query-qmp-schema is a few hundred KiB). */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

    private final ObjectMapper mapper;
    private final QmpMessageHandler handler;
    private final JsonObjectFramer framer;

    public QmpDecoder(ObjectMapper mapper, QmpMessageHandler handler) {
        this(mapper, handler, DEFAULT_MAX_MESSAGE_BYTES);
    }

    public QmpDecoder(ObjectMapper mapper, QmpMessageHandler handler, int maxMessageBytes) {
        this.mapper = mapper;
        this.handler = handler;
        this.framer = new JsonObjectFramer(maxMessageBytes);
    }

    /** Feeds a chunk of bytes; complete messages are dispatched before this returns. */
    public void feed(byte[] data, int off, int len) {
        framer.feed(data, off, len, this::dispatch);
    }

    /** Feeds a whole array. */
    public void feed(byte[] data) {
        feed(data, 0, data.length);
    }

    /** Signals end of stream; fails if it came in the middle of a message. */
    public void endOfStream() {
        framer.endOfStream();
    }

    private void dispatch(byte[] bytes) {
        JsonNode node;
        try {
            node = mapper.readTree(bytes);
        } catch (IOException e) {
            throw new QmpProtocolException("malformed JSON from server: " + e.getMessage() + " in "
                    + JsonObjectFramer.preview(bytes, bytes.length), e);
        }
        if (!(node instanceof ObjectNode msg)) {
            throw new QmpProtocolException("server message is not a JSON object: " + text(bytes));
        }
        if (msg.has("QMP")) {
            handler.onGreeting(greeting(msg));
        } else if (msg.has("event")) {
            handler.onEvent(event(msg));
        } else if (msg.has("return")) {
            handler.onReturn(id(msg, "return"), msg.get("return"));
        } else if (msg.has("error")) {
            JsonNode err = msg.get("error");
            String id = id(msg, "error");
            if (!err.isObject() || !err.path("class").isTextual()) {
                throw new QmpProtocolException("error reply without a textual 'class': " + msg);
            }
            handler.onError(id, err.get("class").asText(), err.path("desc").asText(""));
        } else {
            throw new QmpProtocolException("unknown server message (no QMP/event/return/error member): " + msg);
        }
    }

    private static String id(ObjectNode msg, String kind) {
        JsonNode id = msg.get("id");
        if (id == null || id.isNull()) {
            throw new QmpProtocolException(kind + " reply without an id: " + msg);
        }
        if (!id.isTextual()) {
            throw new QmpProtocolException(kind + " reply with a non-string id: " + msg);
        }
        return id.asText();
    }

    private static QmpGreeting greeting(ObjectNode msg) {
        JsonNode qmp = msg.get("QMP");
        JsonNode version = qmp.path("version").path("qemu");
        if (!version.path("major").isInt() || !version.path("minor").isInt()) {
            throw new QmpProtocolException("greeting without a QEMU version: " + msg);
        }
        List<String> caps = new ArrayList<>();
        qmp.path("capabilities").forEach(c -> caps.add(c.asText()));
        return new QmpGreeting(version.get("major").asInt(), version.get("minor").asInt(),
                version.path("micro").asInt(), qmp.path("version").path("package").asText(""), caps);
    }

    private static QmpEvent event(ObjectNode msg) {
        JsonNode name = msg.get("event");
        if (!name.isTextual()) {
            throw new QmpProtocolException("event with a non-string name: " + msg);
        }
        JsonNode data = msg.get("data");
        if (data != null && !data.isObject()) {
            throw new QmpProtocolException("event data is not an object: " + msg);
        }
        JsonNode ts = msg.path("timestamp");
        Instant when = Instant.ofEpochSecond(ts.path("seconds").asLong(), ts.path("microseconds").asLong() * 1000);
        return new QmpEvent(name.asText(), (ObjectNode) data, when);
    }

    private static String text(byte[] bytes) {
        return JsonObjectFramer.preview(bytes, bytes.length);
    }

}
