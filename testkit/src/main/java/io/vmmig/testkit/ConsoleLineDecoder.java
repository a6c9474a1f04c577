package io.vmmig.testkit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits a serial byte stream into lines: {@code \n} ends a line, {@code \r} is dropped (the guest tty
 * sends {@code \r\n}), bytes are decoded as UTF-8 per line. Holds a partial line across chunks.
 */
final class ConsoleLineDecoder {
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

    /** Feeds a chunk; returns the lines it completed. */
    List<String> feed(byte[] bytes, int offset, int length) {
        List<String> lines = new ArrayList<>();
        for (int i = offset; i < offset + length; i++) {
            byte b = bytes[i];
            if (b == '\n') {
                lines.add(partial.toString(StandardCharsets.UTF_8));
                partial.reset();
            } else if (b != '\r') {
                partial.write(b);
            }
        }
        return lines;
    }

    /** At end of stream: the unterminated rest, if any. */
    List<String> finish() {
        if (partial.size() == 0) {
            return List.of();
        }
        String rest = partial.toString(StandardCharsets.UTF_8);
        partial.reset();
        return List.of(rest);
    }
}
