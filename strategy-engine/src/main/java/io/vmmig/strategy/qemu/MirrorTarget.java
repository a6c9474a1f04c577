package io.vmmig.strategy.qemu;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where the source's mirror job writes: the destination QEMU's writable NBD export of its disk node
 * (the destination agent tells the source agent).
 *
 * @param socket the destination QEMU's NBD server socket (UNIX)
 * @param export the export name on it
 */
public record MirrorTarget(Path socket, String export) {
    public MirrorTarget {
        Objects.requireNonNull(socket, "socket");
        Objects.requireNonNull(export, "export");
    }
}
