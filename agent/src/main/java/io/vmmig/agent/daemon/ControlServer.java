package io.vmmig.agent.daemon;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's control socket: a UNIX socket (mode 0600, so root only when the agent runs as root),
 * one JSON-line request per connection, JSON-line events back until a terminal one. A client that
 * goes away mid-stream only stops watching.
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlServer.class);

    /** Serves one request, writing events to {@code out} (which throws once the client is gone). */
    public interface Handler {
        void handle(ControlRequest request, EventSink out) throws InterruptedException;
    }

    /** Where a request's events go; {@link #send} throws {@link ClientGoneException} once the client left. */
    public interface EventSink {
        void send(ControlEvent e);
    }

    /** The client closed its connection. */
    public static final class ClientGoneException extends RuntimeException {
        ClientGoneException(String message) {
            super(message);
        }
    }

    private final Path path;
    private final ServerSocketChannel server;
    private final Thread acceptor;

    private ControlServer(Path path, ServerSocketChannel server, Handler handler) {
        this.path = path;
        this.server = server;
        this.acceptor = new Thread(() -> acceptLoop(handler), "vmmig-control-accept");
        this.acceptor.setDaemon(true);
    }

    public static ControlServer start(Path path, Handler handler) throws AgentException {
        try {
            Files.createDirectories(path.getParent());
            if (Files.exists(path)) {
                try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                    throw new AgentException(ErrorKind.ENVIRONMENT, "another vmmig agent already serves " + path);
                } catch (IOException stale) {
                    Files.delete(path);   // left by an agent that died
                }
            }
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(path));
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
            ControlServer s = new ControlServer(path, server, handler);
            s.acceptor.start();
            LOG.info("control socket {} (mode 0600)", path);
            return s;
        } catch (IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "cannot open the control socket " + path + ": " + e.getMessage(), e);
        }
    }

    public Path path() {
        return path;
    }

    private void acceptLoop(Handler handler) {
        while (server.isOpen()) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                if (server.isOpen()) LOG.warn("control socket accept: {}", CauseChain.of(e));
                return;
            }
            Thread t = new Thread(() -> serve(ch, handler), "vmmig-control-client");
            t.setDaemon(true);
            t.start();
        }
    }

    private static void serve(SocketChannel ch, Handler handler) {
        try (ch) {
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            OutputStream out = Channels.newOutputStream(ch);
            String line = in.readLine();
            if (line == null) return;
            Sink sink = new Sink(out);
            ControlRequest request;
            try {
                request = ControlCodec.decodeRequest(line);
            } catch (IllegalArgumentException e) {
                sink.send(new ControlEvent.Failure(null, ErrorKind.BAD_REQUEST, e.getMessage()));
                return;
            }
            handler.handle(request, sink);
        } catch (ClientGoneException | IOException e) {
            LOG.debug("control client left: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("control request failed: {}", CauseChain.of(e));
            LOG.debug("control request failed", e);
        }
    }

    private static final class Sink implements EventSink {
        private final OutputStream out;

        Sink(OutputStream out) {
            this.out = out;
        }

        @Override
        public synchronized void send(ControlEvent e) {
            try {
                out.write((ControlCodec.encode(e) + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException ex) {
                throw new ClientGoneException("control client gone: " + ex.getMessage());
            }
        }
    }

    @Override
    public void close() {
        try {
            server.close();
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warn("closing the control socket: {}", CauseChain.of(e));
        }
    }
}
