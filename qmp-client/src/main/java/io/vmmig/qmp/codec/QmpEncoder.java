package io.vmmig.qmp.codec;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.qmp.QmpException;
import java.nio.charset.StandardCharsets;

/** Encodes a command as one QMP request line: {@code {"execute":..,"arguments":..,"id":..}\r\n}. */
public final class QmpEncoder {
    private final ObjectMapper mapper;

    public QmpEncoder(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** Converts command arguments (a record, a map or a JSON node) to a JSON object, or null if none. */
    public ObjectNode arguments(String command, Object arguments) {
        if (arguments == null) {
            return null;
        }
        JsonNode node = arguments instanceof JsonNode n ? n : mapper.valueToTree(arguments);
        if (!(node instanceof ObjectNode obj)) {
            throw new QmpException("arguments of " + command + " must be a JSON object, got " + node.getNodeType());
        }
        return obj;
    }

    /** The request bytes, terminated by CRLF. */
    public byte[] encode(String command, ObjectNode arguments, String id) {
        ObjectNode msg = mapper.createObjectNode();
        msg.put("execute", command);
        if (arguments != null) {
            msg.set("arguments", arguments);
        }
        msg.put("id", id);
        try {
            return (mapper.writeValueAsString(msg) + "\r\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new QmpException("cannot encode " + command + ": " + e.getOriginalMessage(), e);
        }
    }
}
