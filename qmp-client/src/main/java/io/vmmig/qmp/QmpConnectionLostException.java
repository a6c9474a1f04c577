package io.vmmig.qmp;

/**
 * The connection to QEMU is gone (socket closed, QEMU died, protocol error, or {@code close()}): every call
 * pending at that moment fails with it, and every later call fails with it at once.
 */
public class QmpConnectionLostException extends QmpException {
    public QmpConnectionLostException(String message) {
        super(message);
    }

    public QmpConnectionLostException(String message, Throwable cause) {
        super(message, cause);
    }
}
