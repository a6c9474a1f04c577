package io.vmmig.qmp;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;

/** Where a QMP server listens: a UNIX socket path or a TCP host and port. */
public sealed interface QmpEndpoint {
    /** The socket address to connect to. */
    SocketAddress address();

    /** A QMP UNIX socket. */
    static QmpEndpoint unix(Path path) {
        return new Unix(path);
    }

    /** A QMP TCP socket. */
    static QmpEndpoint tcp(String host, int port) {
        return new Tcp(host, port);
    }

    /** @param path socket file */
    record Unix(Path path) implements QmpEndpoint {
        @Override
        public SocketAddress address() {
            return UnixDomainSocketAddress.of(path);
        }

        @Override
        public String toString() {
            return "unix:" + path;
        }
    }

    /** @param host host name or address @param port TCP port */
    record Tcp(String host, int port) implements QmpEndpoint {
        @Override
        public SocketAddress address() {
            return new InetSocketAddress(host, port);
        }

        @Override
        public String toString() {
            return "tcp:" + host + ":" + port;
        }
    }
}
