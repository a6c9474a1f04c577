package io.vmmig.strategy.qemu;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the source's mirror job writes: the destination QEMU's writable NBD export of its disk node
 * (the destination agent tells the source agent), on a UNIX socket (same host, or a forwarded
 * socket) or on TCP (between hosts).
 *
 * @param socket the destination QEMU's NBD server socket (UNIX form), else null
 * @param host   the destination QEMU's NBD server host (TCP form), else null
 * @param port   its TCP port (TCP form), else 0
 * @param export the export name on it
 */
public record MirrorTarget(Path socket, String host, int port, String export) {
    public MirrorTarget {
        Objects.requireNonNull(export, "export");
        if ((socket == null) == (host == null))
            throw new IllegalArgumentException("a mirror target is either a UNIX socket or a TCP host, got socket "
                    + socket + " and host " + host);
        if (host != null && (port <= 0 || port > 65535))
            throw new IllegalArgumentException("TCP port of the mirror target must be 1..65535, got " + port);
        if (socket != null && port != 0)
            throw new IllegalArgumentException("a UNIX-socket mirror target has no port, got " + port);
    }

    /** The UNIX form. */
    public MirrorTarget(Path socket, String export) {
        this(Objects.requireNonNull(socket, "socket"), null, 0, export);
    }

    public static MirrorTarget unix(Path socket, String export) {
        return new MirrorTarget(socket, export);
    }

    public static MirrorTarget tcp(String host, int port, String export) {
        return new MirrorTarget(null, Objects.requireNonNull(host, "host"), port, export);
    }

    public boolean isTcp() {
        return host != null;
    }

    /** QEMU's {@code SocketAddress} of the server, as the {@code server} of an nbd blockdev. */
    public ObjectNode qemuServerAddress() {
        ObjectNode a = JsonNodeFactory.instance.objectNode();
        if (isTcp()) return a.put("type", "inet").put("host", host).put("port", Integer.toString(port));
        return a.put("type", "unix").put("path", socket.toString());
    }

    @Override
    public String toString() {
        return (isTcp() ? "nbd://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port : "nbd+unix://" + socket)
                + " export '" + export + "'";
    }
}
