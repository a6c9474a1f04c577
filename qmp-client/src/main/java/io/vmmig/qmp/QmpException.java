package io.vmmig.qmp;

/** Root of every error raised by the QMP client (unchecked). */
public class QmpException extends RuntimeException {
    public QmpException(String message) {
        super(message);
    }

    public QmpException(String message, Throwable cause) {
        super(message, cause);
    }
}
