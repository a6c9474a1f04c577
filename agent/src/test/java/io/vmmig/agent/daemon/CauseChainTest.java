package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

class CauseChainTest {
    @Test
    void eachCauseOnceOnOneLine() {
        Exception e = new IllegalStateException("cannot prepare the destination",
                new IOException("destination agent b:7410: connection refused", new ConnectException("Connection refused")));
        assertEquals("cannot prepare the destination: destination agent b:7410: connection refused: Connection refused", CauseChain.of(e));
        // a wrapper that repeats its cause's message, a cause without message, a multi-line message
        Exception wrapped = new RuntimeException(new IOException("broken pipe"));
        assertEquals("java.io.IOException: broken pipe", CauseChain.of(wrapped));
        assertEquals("NullPointerException", CauseChain.of(new NullPointerException()));
        assertEquals("first line second line", CauseChain.of(new IOException("first line\nsecond line")));
    }
}
