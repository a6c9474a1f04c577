package io.vmmig.testkit.net;

import io.vmmig.testkit.TestKitException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * Where a proxy listens or connects: {@code tcp:HOST:PORT} or {@code unix:PATH}. Unix sockets live in the
 * file system, which every network namespace shares: that is how a JVM in the root namespace talks to a
 * {@link TcpForwarder} inside a lab namespace.
 */
public sealed interface Endpoint permits Endpoint.Tcp, Endpoint.Unix {

    /** A TCP address; port 0 when listening means "any free port". */
    record Tcp(String host, int port) implements Endpoint {
        public Tcp {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("TCP port out of range: " + port);
            }
        }

        @Override
        public String spec() {
            return "tcp:" + host + ":" + port;
        }

        @Override
        public ServerSocketChannel listen() throws IOException {
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.INET);
            try {
                server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                server.bind(new InetSocketAddress(host, port), 64);
                return server;
            } catch (IOException e) {
                server.close();
                throw e;
            }
        }

        @Override
        public SocketChannel connect() throws IOException {
            SocketChannel ch = SocketChannel.open(new InetSocketAddress(host, port));
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            return ch;
        }
    }

    /** A Unix domain socket path; listening removes a stale socket file first. */
    record Unix(Path path) implements Endpoint {
        @Override
        public String spec() {
            return "unix:" + path;
        }

        @Override
        public ServerSocketChannel listen() throws IOException {
            java.nio.file.Files.deleteIfExists(path);
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                server.bind(UnixDomainSocketAddress.of(path), 64);
                return server;
            } catch (IOException e) {
                server.close();
                throw e;
            }
        }

        @Override
        public SocketChannel connect() throws IOException {
            return SocketChannel.open(UnixDomainSocketAddress.of(path));
        }
    }

    /** {@code tcp:HOST:PORT} or {@code unix:PATH}. */
    String spec();

    /** A bound, blocking server channel. */
    ServerSocketChannel listen() throws IOException;

    /** A connected, blocking channel ({@code TCP_NODELAY} on for TCP). */
    SocketChannel connect() throws IOException;

    /** Parses {@link #spec()}. */
    static Endpoint parse(String spec) {
        if (spec.startsWith("unix:") && spec.length() > 5) {
            return new Unix(Path.of(spec.substring(5)));
        }
        if (spec.startsWith("tcp:")) {
            int colon = spec.lastIndexOf(':');
            if (colon > 4) {
                try {
                    return new Tcp(spec.substring(4, colon), Integer.parseInt(spec.substring(colon + 1)));
                } catch (NumberFormatException e) {
                    throw new TestKitException("bad port in endpoint '" + spec + "'", e);
                }
            }
        }
        throw new TestKitException("bad endpoint '" + spec + "': expected tcp:HOST:PORT or unix:PATH");
    }

    /** A TCP endpoint. */
    static Endpoint tcp(String host, int port) {
        return new Tcp(host, port);
    }

    /** A Unix domain socket endpoint. */
    static Endpoint unix(Path path) {
        return new Unix(path);
    }

    /** The endpoint a bound server channel really listens on (the actual port when 0 was asked). */
    static Endpoint boundTo(Endpoint asked, ServerSocketChannel server) throws IOException {
        if (asked instanceof Tcp t) {
            return new Tcp(t.host(), ((InetSocketAddress) server.getLocalAddress()).getPort());
        }
        return asked;
    }
}
