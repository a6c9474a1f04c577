package io.vmmig.agent.cli;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A fake agent on a temporary UNIX socket for client tests (the real daemon comes with the lead's ITs):
 * each connection's request is recorded, then the script for its op answers it, raw bytes at a time.
 */
final class ScriptedAgent implements AutoCloseable {

    /** What the fake agent does on one connection after reading its request. */
    interface Script {
        void answer(ControlRequest request, Connection connection) throws Exception;
    }

    /** One accepted connection, as the script drives it. */
    static final class Connection {
        private final SocketChannel channel;

        Connection(SocketChannel channel) {
            this.channel = channel;
        }

        /** Writes bytes as one write call. */
        void write(String text) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) channel.write(b);
        }

        /** Writes the bytes of {@code text} in pieces cut at the given byte offsets (each piece flushed alone). */
        void writeSplit(String text, int... cuts) throws IOException {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            int from = 0;
            for (int cut : cuts) {
                channel.write(ByteBuffer.wrap(bytes, from, cut - from));
                from = cut;
            }
            ByteBuffer rest = ByteBuffer.wrap(bytes, from, bytes.length - from);
            while (rest.hasRemaining()) channel.write(rest);
        }

        /** Writes each event as a JSON line, in one write call each. */
        void send(Object... events) throws IOException {
            for (Object e : events) write(ControlCodec.encode(e) + "\n");
        }

        /** Waits until the client closes its end (reading and dropping what it sends); whether it did in time. */
        boolean awaitClientClose(Duration timeout) throws IOException {
            channel.configureBlocking(false);
            long end = System.nanoTime() + timeout.toNanos();
            ByteBuffer b = ByteBuffer.allocate(256);
            try (Selector selector = Selector.open()) {
                channel.register(selector, SelectionKey.OP_READ);
                while (true) {
                    b.clear();
                    if (channel.read(b) < 0) return true;
                    long left = (end - System.nanoTime()) / 1_000_000;
                    if (left <= 0) return false;
                    selector.select(left);
                    selector.selectedKeys().clear();
                }
            }
        }

        void close() throws IOException {
            channel.close();
        }
    }

    private final Path dir;
    private final Path socket;
    private final ServerSocketChannel server;
    private final Map<ControlRequest.Op, Script> scripts = new ConcurrentHashMap<>();
    private final BlockingQueue<ControlRequest> requests = new LinkedBlockingQueue<>();
    private final CopyOnWriteArrayList<Throwable> errors = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    ScriptedAgent() throws IOException {
        dir = Files.createTempDirectory("vmmig-cli-test-");
        socket = dir.resolve("control.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        acceptor = new Thread(this::acceptLoop, "scripted-agent");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    Path socket() {
        return socket;
    }

    ScriptedAgent on(ControlRequest.Op op, Script script) {
        scripts.put(op, script);
        return this;
    }

    /** The next request a client sent, waiting up to 10 s. */
    ControlRequest nextRequest() throws InterruptedException {
        ControlRequest r = requests.poll(10, TimeUnit.SECONDS);
        if (r == null) throw new AssertionError("no request reached the scripted agent within 10 s");
        return r;
    }

    /** A request if one comes within {@code timeout}, else null. */
    ControlRequest pollRequest(Duration timeout) throws InterruptedException {
        return requests.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Failures inside scripts (asserted empty by tests that care). */
    java.util.List<Throwable> errors() {
        return errors;
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                return;
            }
            Thread t = new Thread(() -> serve(c), "scripted-agent-connection");
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(SocketChannel c) {
        try (c) {
            String line = readLine(c);
            ControlRequest request = ControlCodec.decodeRequest(line);
            requests.add(request);
            Script script = scripts.get(request.op());
            if (script == null) throw new AssertionError("no script for " + request.op());
            script.answer(request, new Connection(c));
        } catch (Throwable e) {
            errors.add(e);
        }
    }

    private static String readLine(SocketChannel c) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        ByteBuffer one = ByteBuffer.allocate(1);
        while (true) {
            one.clear();
            if (c.read(one) < 0) throw new IOException("client closed before a full request line");
            if (one.get(0) == '\n') return line.toString(StandardCharsets.UTF_8);
            line.write(one.get(0));
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(socket);
        Files.deleteIfExists(dir);
    }
}
