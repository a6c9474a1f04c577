package io.vmmig.agent.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.agent.session.PeerMessage;
import io.vmmig.agent.session.PeerValues;
import java.nio.charset.StandardCharsets;

/**
 * The control-line JSON codec on arbitrary text: a CLI request line ({@link ControlCodec#decodeRequest})
 * and event line decode or fail with {@link IllegalArgumentException}; a peer's control message
 * ({@link PeerMessage} in a CONTROL frame) decodes or fails with Jackson's exception, and a decoded one
 * is accepted or refused by {@link PeerValues} with an {@link AgentException}; nothing else is thrown. A
 * request that decodes encodes back to one that decodes equal. Seeds in {@code ControlLineFuzzTestInputs/lines/}.
 */
class ControlLineFuzzTest {
    @FuzzTest(maxDuration = "45s")
    void lines(byte[] input) {
        String line = new String(input, StandardCharsets.UTF_8);
        try {
            ControlRequest r = ControlCodec.decodeRequest(line);
            assertEquals(r, ControlCodec.decodeRequest(ControlCodec.encode(r)));
        } catch (IllegalArgumentException refused) {
            // a bad request: the control server answers BAD_REQUEST
        }
        try {
            ControlCodec.decodeEvent(line);
        } catch (IllegalArgumentException refused) {
            // a bad event: the CLI says so
        }
        try {
            PeerMessage m = ControlCodec.mapper().readValue(line, PeerMessage.class);
            PeerValues.check(m);
        } catch (JsonProcessingException | AgentException refused) {
            // ControlLink answers FAILED(BAD_REQUEST) and closes
        }
    }
}
