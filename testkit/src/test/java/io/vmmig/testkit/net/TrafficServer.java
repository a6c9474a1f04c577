package io.vmmig.testkit.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.zip.CRC32;

/**
 * Test peer in this JVM: each connection starts with a mode byte: {@code 'S'} sink (reads to EOF, answers
 * 16 bytes: count and CRC32 of what it read), {@code 'E'} echo (writes back whatever it reads).
 */
final class TrafficServer implements AutoCloseable {
    private final ServerSocketChannel server;
    private final Endpoint endpoint;

    private TrafficServer(ServerSocketChannel server, Endpoint endpoint) {
        this.server = server;
        this.endpoint = endpoint;
    }

    static TrafficServer start(Endpoint listen) throws IOException {
        ServerSocketChannel s = listen.listen();
        TrafficServer ts = new TrafficServer(s, Endpoint.boundTo(listen, s));
        Thread t = new Thread(ts::acceptLoop, "traffic-server");
        t.setDaemon(true);
        t.start();
        return ts;
    }

    Endpoint endpoint() {
        return endpoint;
    }

    private void acceptLoop() {
        while (true) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                return;
            }
            Thread t = new Thread(() -> serve(c), "traffic-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private static void serve(SocketChannel c) {
        try (c) {
            ByteBuffer mode = ByteBuffer.allocate(1);
            while (mode.hasRemaining()) {
                if (c.read(mode) < 0) {
                    return;
                }
            }
            ByteBuffer buf = ByteBuffer.allocateDirect(256 * 1024);
            if (mode.get(0) == 'E') {
                while (c.read(buf) >= 0) {
                    buf.flip();
                    while (buf.hasRemaining()) {
                        c.write(buf);
                    }
                    buf.clear();
                }
                return;
            }
            CRC32 crc = new CRC32();
            long count = 0;
            int n;
            while ((n = c.read(buf)) >= 0) {
                buf.flip();
                crc.update(buf);
                count += n;
                buf.clear();
            }
            ByteBuffer answer = ByteBuffer.allocate(16).putLong(count).putLong(crc.getValue()).flip();
            while (answer.hasRemaining()) {
                c.write(answer);
            }
        } catch (IOException e) {
            // the client went away
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        if (endpoint instanceof Endpoint.Unix u) {
            java.nio.file.Files.deleteIfExists(u.path());
        }
    }
}
