package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.testkit.TestKitException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class EndpointTest {
    @Test
    void parsesWhatItPrints() {
        assertEquals(new Endpoint.Tcp("10.213.0.2", 5201), Endpoint.parse("tcp:10.213.0.2:5201"));
        assertEquals(new Endpoint.Unix(Path.of("/tmp/x y.sock")), Endpoint.parse("unix:/tmp/x y.sock"));
        Endpoint e = Endpoint.tcp("127.0.0.1", 0);
        assertEquals(e, Endpoint.parse(e.spec()));
    }

    @Test
    void badSpecsNameTheProblem() {
        TestKitException e = assertThrows(TestKitException.class, () -> Endpoint.parse("udp:1.2.3.4:5"));
        assertTrue(e.getMessage().contains("udp:1.2.3.4:5") && e.getMessage().contains("tcp:HOST:PORT"),
                e.getMessage());
        assertTrue(assertThrows(TestKitException.class, () -> Endpoint.parse("tcp:host:http")).getMessage()
                .contains("bad port"));
        assertThrows(IllegalArgumentException.class, () -> Endpoint.parse("tcp:host:70000"));
    }
}
