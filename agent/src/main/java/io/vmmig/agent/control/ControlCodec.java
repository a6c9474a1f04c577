package io.vmmig.agent.control;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.time.Duration;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * JSON lines of the control socket: one object per line, UTF-8, no embedded newlines. Unknown fields
 * are ignored (a newer agent may add some); a line that is not a request or an event is an
 * {@link IllegalArgumentException} naming what is wrong.
 */
public final class ControlCodec {
    /** Longest line accepted. */
    public static final int MAX_LINE = 1 << 20;

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS, true)
            .configure(SerializationFeature.FAIL_ON_EMPTY_BEANS, false)
            .addModule(durationsAsMillis())
            .build();

    /** Durations (e.g. the report's timeline) as whole milliseconds. */
    private static SimpleModule durationsAsMillis() {
        SimpleModule m = new SimpleModule("vmmig-durations");
        m.addSerializer(Duration.class, new JsonSerializer<>() {
            @Override public void serialize(Duration d, JsonGenerator g, SerializerProvider p) throws IOException {
                g.writeNumber(d.toMillis());
            }
        });
        m.addDeserializer(Duration.class, new JsonDeserializer<>() {
            @Override public Duration deserialize(JsonParser p, DeserializationContext c) throws IOException {
                return Duration.ofMillis(p.getLongValue());
            }
        });
        return m;
    }

    private ControlCodec() {
    }

    /** The mapper (for embedding engine reports as {@link JsonNode}). */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** One line, without the newline. */
    public static String encode(Object requestOrEvent) {
        try {
            return MAPPER.writeValueAsString(requestOrEvent);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode " + requestOrEvent.getClass().getSimpleName(), e);
        }
    }

    public static ControlRequest decodeRequest(String line) {
        ControlRequest r = decode(line, ControlRequest.class, "request");
        if (r.op() == null) throw new IllegalArgumentException("control request without \"op\": " + abbreviate(line));
        return r;
    }

    public static ControlEvent decodeEvent(String line) {
        return decode(line, ControlEvent.class, "event");
    }

    /** Any value (e.g. an engine report) as a JSON tree. */
    public static JsonNode tree(Object value) {
        return MAPPER.valueToTree(value);
    }

    private static <T> T decode(String line, Class<T> type, String what) {
        if (line.length() > MAX_LINE) throw new IllegalArgumentException("control " + what + " longer than " + MAX_LINE + " characters");
        try {
            T value = MAPPER.readValue(line, type);
            if (value == null) throw new IllegalArgumentException("bad control " + what + " " + abbreviate(line) + ": not a JSON object");
            return value;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("bad control " + what + " " + abbreviate(line) + ": " + e.getOriginalMessage(), e);
        }
    }

    private static String abbreviate(String line) {
        return line.length() <= 120 ? line : line.substring(0, 117) + "...";
    }
}
