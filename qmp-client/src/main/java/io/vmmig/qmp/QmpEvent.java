package io.vmmig.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Objects;

/**
 * An asynchronous QMP event, e.g. {@code STOP} or {@code JOB_STATUS_CHANGE}.
 *
 * @param name      event name
 * @param data      event data ({@code {}} when QEMU sent none)
 * @param timestamp QEMU's timestamp
 */
public record QmpEvent(String name, ObjectNode data, Instant timestamp) {
    public QmpEvent {
        Objects.requireNonNull(name, "name");
        data = data == null ? JsonNodeFactory.instance.objectNode() : data;
        timestamp = timestamp == null ? Instant.EPOCH : timestamp;
    }

    /** Text of a top-level data member, or null if absent or not a value. */
    public String dataText(String field) {
        JsonNode n = data.get(field);
        return n == null || n.isContainerNode() || n.isNull() ? null : n.asText();
    }
}
