package io.vmmig.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An in-process QMP peer on a UNIX socket, scripted by the test, used only to inject what a real QEMU never
 * sends (garbage, dropped replies, late replies, abrupt closes).
 */
final class FakeQmpServer implements AutoCloseable {
    static final String GREETING = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
            + "\"package\": \"fake\"}, \"capabilities\": [\"oob\"]}}\r\n";

    private final ObjectMapper mapper = QmpJson.newMapper();
    private final Path dir;
    private final Path socket;
    private final ServerSocketChannel server;
    private SocketChannel peer;
    private final ByteArrayOutputStream pendingLine = new ByteArrayOutputStream();

    FakeQmpServer() throws IOException {
        dir = Files.createTempDirectory("fake-qmp");
        socket = dir.resolve("qmp.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }

    Path socket() {
        return socket;
    }

    QmpEndpoint endpoint() {
        return QmpEndpoint.unix(socket);
    }

    /** Accepts one client, sends the greeting and answers qmp_capabilities. */
    void acceptAndNegotiate() throws IOException {
        peer = server.accept();
        send(GREETING);
        JsonNode caps = readCommand();
        if (!"qmp_capabilities".equals(caps.path("execute").asText())) {
            throw new IllegalStateException("expected qmp_capabilities, got " + caps);
        }
        reply(caps, "{}");
    }

    void accept() throws IOException {
        peer = server.accept();
    }

    void send(String raw) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(raw.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            peer.write(b);
        }
    }

    void reply(JsonNode command, String returnJson) throws IOException {
        send("{\"return\": " + returnJson + ", \"id\": " + command.get("id") + "}\r\n");
    }

    /** Reads one request line sent by the client (the client terminates each with CRLF). */
    JsonNode readCommand() throws IOException {
        ByteBuffer one = ByteBuffer.allocate(1);
        while (true) {
            one.clear();
            if (peer.read(one) < 0) {
                throw new IOException("client closed the socket");
            }
            byte b = one.get(0);
            if (b == '\n') {
                byte[] line = pendingLine.toByteArray();
                pendingLine.reset();
                return mapper.readTree(line);
            }
            pendingLine.write(b);
        }
    }

    /** Closes the connection to the client (the listening socket stays). */
    void dropClient() throws IOException {
        peer.close();
    }

    @Override
    public void close() throws IOException {
        if (peer != null) {
            peer.close();
        }
        server.close();
        Files.deleteIfExists(socket);
        Files.deleteIfExists(dir);
    }
}
