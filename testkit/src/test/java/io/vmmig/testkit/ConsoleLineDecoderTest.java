package io.vmmig.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConsoleLineDecoderTest {
    private static final byte[] STREAM = "VMMIG-READY blocks=8\r\nHB 1 100\r\n\r\nVERIFY OK 8 ü\r\npartial".getBytes(StandardCharsets.UTF_8);
    private static final List<String> LINES = List.of("VMMIG-READY blocks=8", "HB 1 100", "", "VERIFY OK 8 ü");

    @Test
    void sameLinesWhereverTheStreamIsSplit() {
        for (int a = 0; a <= STREAM.length; a++) {
            for (int b = a; b <= STREAM.length; b++) {
                ConsoleLineDecoder d = new ConsoleLineDecoder();
                List<String> got = new ArrayList<>();
                got.addAll(d.feed(STREAM, 0, a));
                got.addAll(d.feed(STREAM, a, b - a));
                got.addAll(d.feed(STREAM, b, STREAM.length - b));
                assertEquals(LINES, got, "split at " + a + "/" + b);
                assertEquals(List.of("partial"), d.finish());
                assertEquals(List.of(), d.finish());
            }
        }
    }

    @Test
    void byteByByte() {
        ConsoleLineDecoder d = new ConsoleLineDecoder();
        List<String> got = new ArrayList<>();
        for (int i = 0; i < STREAM.length; i++) {
            got.addAll(d.feed(STREAM, i, 1));
        }
        assertEquals(LINES, got);
    }
}
