package io.vmmig.qmp.codec;

import com.fasterxml.jackson.databind.JsonNode;
import io.vmmig.qmp.QmpEvent;
import io.vmmig.qmp.QmpGreeting;

/** Receives the messages a {@link QmpDecoder} decodes, in stream order. */
public interface QmpMessageHandler {
    /** The server greeting ({@code {"QMP": ...}}). */
    void onGreeting(QmpGreeting greeting);

    /** A successful reply to the command sent with {@code id}. */
    void onReturn(String id, JsonNode result);

    /** An error reply to the command sent with {@code id}. */
    void onError(String id, String errorClass, String description);

    /** An asynchronous event. */
    void onEvent(QmpEvent event);
}
