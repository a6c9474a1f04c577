package io.vmmig.qmp.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmmig.qmp.QmpEvent;
import io.vmmig.qmp.QmpGreeting;
import io.vmmig.qmp.QmpJson;
import io.vmmig.qmp.QmpProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class QmpDecoderTest {
    private static final ObjectMapper MAPPER = QmpJson.newMapper();

    /** A transcript shaped like QEMU 7.2's output, with tricky strings (braces, quotes, escapes, UTF-8). */
    static final String TRANSCRIPT = String.join("",
            "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": "
                    + "\"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n",
            "{\"return\": {}, \"id\": \"vmmig-1\"}\r\n",
            "{\"timestamp\": {\"seconds\": 1795319693, \"microseconds\": 649161}, \"event\": \"STOP\"}\r\n",
            "{\"return\": {\"status\": \"paused\", \"singlestep\": false, \"running\": false}, \"id\": \"vmmig-2\"}\r\n",
            "{\"timestamp\": {\"seconds\": 1795319694, \"microseconds\": 1}, \"event\": \"JOB_STATUS_CHANGE\", "
                    + "\"data\": {\"status\": \"running\", \"id\": \"job}{\\\"0\"}}\r\n",
            "{\"id\": \"vmmig-3\", \"error\": {\"class\": \"GenericError\", \"desc\": \"Cannot find device='x}' "
                    + "nor node-name=\\\"y\\\\\\\" \u00e9\u20ac\"}}\r\n",
            "{\"return\": [{\"device\": \"a[0]\", \"inserted\": {\"dirty-bitmaps\": []}}], \"id\": \"vmmig-4\"}",
            "  \n{\"return\": \"text\\r\\n{not json}\\u007b\", \"id\": \"vmmig-5\"}\r\n");

    /** Records handler calls as comparable strings. */
    static final class Recorder implements QmpMessageHandler {
        final List<String> calls = new ArrayList<>();

        @Override
        public void onGreeting(QmpGreeting g) {
            calls.add("greeting " + g);
        }

        @Override
        public void onReturn(String id, JsonNode result) {
            calls.add("return " + id + " " + result);
        }

        @Override
        public void onError(String id, String errorClass, String description) {
            calls.add("error " + id + " " + errorClass + " " + description);
        }

        @Override
        public void onEvent(QmpEvent event) {
            calls.add("event " + event);
        }
    }

    private static List<String> decodeWhole(byte[] bytes) {
        Recorder r = new Recorder();
        QmpDecoder d = new QmpDecoder(MAPPER, r);
        d.feed(bytes);
        d.endOfStream();
        return r.calls;
    }

    @Test
    void transcriptDecodesToTheExpectedMessages() {
        List<String> calls = decodeWhole(TRANSCRIPT.getBytes(StandardCharsets.UTF_8));
        assertEquals(8, calls.size(), calls.toString());
        assertEquals("greeting QmpGreeting[major=7, minor=2, micro=22, packageName=Debian 1:7.2+dfsg-7+deb12u18+b3, "
                + "capabilities=[oob]]", calls.get(0));
        assertEquals("return vmmig-1 {}", calls.get(1));
        assertTrue(calls.get(2).startsWith("event QmpEvent[name=STOP, data={}, timestamp=2026-"), calls.get(2));
        assertEquals("return vmmig-2 {\"status\":\"paused\",\"singlestep\":false,\"running\":false}", calls.get(3));
        assertTrue(calls.get(4).contains("\"id\":\"job}{\\\"0\""), calls.get(4));
        assertEquals("error vmmig-3 GenericError Cannot find device='x}' nor node-name=\"y\\\" \u00e9\u20ac",
                calls.get(5));
        assertEquals("return vmmig-4 [{\"device\":\"a[0]\",\"inserted\":{\"dirty-bitmaps\":[]}}]", calls.get(6));
        assertEquals("return vmmig-5 \"text\\r\\n{not json}{\"", calls.get(7));
    }

    @Test
    void splittingAtEveryBytePositionGivesTheSameMessages() {
        byte[] bytes = TRANSCRIPT.getBytes(StandardCharsets.UTF_8);
        List<String> expected = decodeWhole(bytes);
        for (int split = 0; split <= bytes.length; split++) {
            Recorder r = new Recorder();
            QmpDecoder d = new QmpDecoder(MAPPER, r);
            d.feed(bytes, 0, split);
            d.feed(bytes, split, bytes.length - split);
            d.endOfStream();
            assertEquals(expected, r.calls, "split at " + split);
        }
    }

    @Test
    void byteByByteAndThreeWaySplitsGiveTheSameMessages() {
        byte[] bytes = TRANSCRIPT.getBytes(StandardCharsets.UTF_8);
        List<String> expected = decodeWhole(bytes);
        Recorder r = new Recorder();
        QmpDecoder d = new QmpDecoder(MAPPER, r);
        for (int i = 0; i < bytes.length; i++) {
            d.feed(bytes, i, 1);
        }
        d.endOfStream();
        assertEquals(expected, r.calls);
        for (int a = 0; a <= bytes.length; a += 7) {
            for (int b = a; b <= bytes.length; b += 13) {
                Recorder r3 = new Recorder();
                QmpDecoder d3 = new QmpDecoder(MAPPER, r3);
                d3.feed(bytes, 0, a);
                d3.feed(bytes, a, b - a);
                d3.feed(bytes, b, bytes.length - b);
                d3.endOfStream();
                assertEquals(expected, r3.calls, "splits at " + a + "," + b);
            }
        }
    }

    @Test
    void messagesWithoutLineTerminatorsAreFramedByDepth() {
        String s = "{\"return\": {}, \"id\": \"vmmig-1\"}{\"return\": {\"a\": [1, {\"b\": \"}\"}]}, \"id\": \"vmmig-2\"}";
        assertEquals(List.of("return vmmig-1 {}", "return vmmig-2 {\"a\":[1,{\"b\":\"}\"}]}"),
                decodeWhole(s.getBytes(StandardCharsets.UTF_8)));
    }

    private static QmpProtocolException failure(String input) {
        return failure(input, QmpDecoder.DEFAULT_MAX_MESSAGE_BYTES);
    }

    private static QmpProtocolException failure(String input, int max) {
        QmpDecoder d = new QmpDecoder(MAPPER, new Recorder(), max);
        return assertThrows(QmpProtocolException.class, () -> {
            d.feed(input.getBytes(StandardCharsets.UTF_8));
            d.endOfStream();
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"garbage\r\n", "[1, 2]\r\n", "\"str\"\r\n", "42\r\n", "null", "\u0000"})
    void nonObjectTopLevelValuesAreRejected(String input) {
        assertTrue(failure(input).getMessage().contains("expected '{'"), failure(input).getMessage());
    }

    @Test
    void garbageAfterAValidMessageIsRejectedAfterTheValidOneIsDelivered() {
        Recorder r = new Recorder();
        QmpDecoder d = new QmpDecoder(MAPPER, r);
        assertThrows(QmpProtocolException.class,
                () -> d.feed("{\"return\": {}, \"id\": \"vmmig-1\"}\r\nxyz".getBytes(StandardCharsets.UTF_8)));
        assertEquals(List.of("return vmmig-1 {}"), r.calls);
    }

    @Test
    void malformedJsonIsRejected() {
        assertTrue(failure("{\"return\": {}, \"id\" \"vmmig-1\"}").getMessage().startsWith("malformed JSON"));
        assertTrue(failure("{\"return\": tru, \"id\": \"vmmig-1\"}").getMessage().startsWith("malformed JSON"));
        assertTrue(failure("{\"a\": [1}]").getMessage().startsWith("malformed JSON"));
    }

    @Test
    void errorWithoutIdIsRejected() {
        String msg = failure("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}\r\n")
                .getMessage();
        assertTrue(msg.contains("error reply without an id"), msg);
    }

    @Test
    void returnWithoutIdOrWithNonStringIdIsRejected() {
        assertTrue(failure("{\"return\": {}}").getMessage().contains("return reply without an id"));
        assertTrue(failure("{\"return\": {}, \"id\": 7}").getMessage().contains("non-string id"));
    }

    @Test
    void unknownMessageKindsAreRejected() {
        assertTrue(failure("{\"hello\": 1}").getMessage().contains("unknown server message"));
        assertTrue(failure("{\"event\": 5}").getMessage().contains("non-string name"));
        assertTrue(failure("{\"error\": \"x\", \"id\": \"vmmig-1\"}").getMessage().contains("textual 'class'"));
        assertTrue(failure("{\"QMP\": {}}").getMessage().contains("greeting without a QEMU version"));
    }

    @Test
    void endOfStreamInsideAMessageIsRejected() {
        String msg = failure("{\"return\": {\"status\": \"runn").getMessage();
        assertTrue(msg.contains("stream ended in the middle of a message"), msg);
        // ending right after a message is fine
        assertEquals(1, decodeWhole("{\"return\": {}, \"id\": \"vmmig-1\"}\r\n".getBytes(StandardCharsets.UTF_8))
                .size());
    }

    @Test
    void oversizedMessageIsRejectedWithoutBufferingMore() {
        String big = "{\"return\": \"" + "x".repeat(200) + "\", \"id\": \"vmmig-1\"}";
        String msg = failure(big, 100).getMessage();
        assertTrue(msg.contains("exceeds the limit of 100 bytes"), msg);
        assertEquals(1, decodeWholeWithLimit(big, big.length()));
    }

    private static int decodeWholeWithLimit(String s, int max) {
        Recorder r = new Recorder();
        QmpDecoder d = new QmpDecoder(MAPPER, r, max);
        d.feed(s.getBytes(StandardCharsets.UTF_8));
        d.endOfStream();
        return r.calls.size();
    }
}
