package io.vmmig.nbd.protocol;

import java.io.IOException;

/** Root of every error raised by the nbd-export module (client, server and backends). */
public class NbdException extends IOException {
    public NbdException(String message) {
        super(message);
    }

    public NbdException(String message, Throwable cause) {
        super(message, cause);
    }
}
