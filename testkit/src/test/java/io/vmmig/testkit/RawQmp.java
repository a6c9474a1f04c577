package io.vmmig.testkit;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Just enough QMP for the harness's own migration test (the project's real client lives in qmp-client,
 * which testkit must not depend on): one command at a time, JSON as strings, events skipped.
 */
final class RawQmp implements AutoCloseable {
    private final SocketChannel ch;
    private final Selector selector;
    private final ByteBuffer buf = ByteBuffer.allocate(1 << 16);
    private final StringBuilder pending = new StringBuilder();

    RawQmp(Path socket) throws IOException {
        ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        ch.configureBlocking(false);
        selector = Selector.open();
        ch.register(selector, SelectionKey.OP_READ);
        String greeting = readLine(Duration.ofSeconds(10));
        if (!greeting.contains("\"QMP\"")) {
            throw new IOException("not a QMP greeting: " + greeting);
        }
        execute("{\"execute\":\"qmp_capabilities\"}", Duration.ofSeconds(10));
    }

    /** Sends a command; returns its {@code return} line; throws on an {@code error} reply. */
    String execute(String json, Duration timeout) throws IOException {
        ByteBuffer out = ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8));
        while (out.hasRemaining()) {
            ch.write(out);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String line = readLine(Duration.ofNanos(deadline - System.nanoTime()));
            if (line.startsWith("{\"return\"")) {
                return line;
            }
            if (line.startsWith("{\"error\"")) {
                throw new IOException(json + " failed: " + line);
            }
        }
    }

    private String readLine(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            int nl = pending.indexOf("\n");
            if (nl >= 0) {
                String line = pending.substring(0, nl).strip();
                pending.delete(0, nl + 1);
                return line;
            }
            long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (leftMs <= 0) {
                throw new IOException("no QMP reply within " + timeout + "; have: " + pending);
            }
            selector.select(leftMs);
            selector.selectedKeys().clear();
            if (ch.read(buf) < 0) {
                throw new IOException("QMP connection closed; have: " + pending);
            }
            pending.append(new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
            buf.clear();
        }
    }

    @Override
    public void close() throws IOException {
        selector.close();
        ch.close();
    }
}
