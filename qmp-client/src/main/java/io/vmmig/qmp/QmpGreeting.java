package io.vmmig.qmp;

import java.util.List;

/**
 * The greeting QEMU sends when a client connects.
 *
 * @param major        QEMU major version
 * @param minor        QEMU minor version
 * @param micro        QEMU micro version
 * @param packageName  distribution package string
 * @param capabilities capabilities offered by the server (e.g. {@code oob})
 */
public record QmpGreeting(int major, int minor, int micro, String packageName, List<String> capabilities) {
    public QmpGreeting {
        capabilities = List.copyOf(capabilities);
    }
}
