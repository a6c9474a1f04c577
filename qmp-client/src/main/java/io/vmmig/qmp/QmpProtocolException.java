package io.vmmig.qmp;

/** The peer sent something that is not valid QMP (bad framing, malformed JSON, unexpected message). */
public class QmpProtocolException extends QmpException {
    public QmpProtocolException(String message) {
        super(message);
    }

    public QmpProtocolException(String message, Throwable cause) {
        super(message, cause);
    }
}
