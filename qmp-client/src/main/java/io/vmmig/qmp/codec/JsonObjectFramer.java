package io.vmmig.qmp.codec;

import io.vmmig.qmp.QmpProtocolException;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Cuts a byte stream into complete top-level JSON objects. It tracks object/array depth and is aware of
 * strings and escapes, so it does not rely on QEMU's {@code "\r\n"} terminator. Whitespace between objects
 * is skipped; any other byte outside an object is a protocol error. Each object is bounded in size.
 */
public final class JsonObjectFramer {
    private final int maxMessageBytes;
    private byte[] buf = new byte[4096];
    private int len;
    private int depth;
    private boolean inString;
    private boolean escape;
    private long offset;

    /** @param maxMessageBytes largest accepted message, in bytes */
    public JsonObjectFramer(int maxMessageBytes) {
        if (maxMessageBytes < 2) {
            throw new IllegalArgumentException("maxMessageBytes must be at least 2: " + maxMessageBytes);
        }
        this.maxMessageBytes = maxMessageBytes;
    }

    /**
     * Feeds a chunk; each complete object is passed to {@code sink} as its exact bytes.
     *
     * @throws QmpProtocolException on a byte outside an object or an oversized message
     */
    public void feed(byte[] data, int off, int n, Consumer<byte[]> sink) {
        for (int i = off; i < off + n; i++, offset++) {
            byte b = data[i];
            if (depth == 0) {
                if (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
                    continue;
                }
                if (b != '{') {
                    throw new QmpProtocolException(String.format(
                            "expected '{' starting a JSON object at stream offset %d, got byte 0x%02x ('%s')",
                            offset, b & 0xff, printable(b)));
                }
            }
            append(b);
            if (inString) {
                if (escape) {
                    escape = false;
                } else if (b == '\\') {
                    escape = true;
                } else if (b == '"') {
                    inString = false;
                }
                continue;
            }
            switch (b) {
                case '"' -> inString = true;
                case '{', '[' -> depth++;
                case '}', ']' -> {
                    depth--;
                    if (depth == 0) {
                        byte[] message = Arrays.copyOf(buf, len);
                        len = 0;
                        sink.accept(message);
                    }
                }
                default -> { }
            }
        }
    }

    /** True if part of a message has been received and not yet completed. */
    public boolean inMessage() {
        return depth > 0;
    }

    /**
     * Signals the end of the stream.
     *
     * @throws QmpProtocolException if the stream ended inside a message
     */
    public void endOfStream() {
        if (depth > 0) {
            throw new QmpProtocolException("stream ended in the middle of a message after " + len + " bytes: "
                    + preview(buf, len));
        }
    }

    private void append(byte b) {
        if (len == maxMessageBytes) {
            throw new QmpProtocolException("message exceeds the limit of " + maxMessageBytes + " bytes: "
                    + preview(buf, len));
        }
        if (len == buf.length) {
            buf = Arrays.copyOf(buf, (int) Math.min((long) buf.length * 2, maxMessageBytes));
        }
        buf[len++] = b;
    }

    private static String printable(byte b) {
        return b >= 0x20 && b < 0x7f ? String.valueOf((char) b) : "?";
    }

    static String preview(byte[] data, int n) {
        String s = new String(data, 0, Math.min(n, 120), java.nio.charset.StandardCharsets.UTF_8);
        return n > 120 ? s + "..." : s;
    }
}
