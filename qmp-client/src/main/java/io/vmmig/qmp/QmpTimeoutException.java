package io.vmmig.qmp;

/** A deadline passed: a command got no reply in time, or no matching event arrived in time. */
public class QmpTimeoutException extends QmpException {
    public QmpTimeoutException(String message) {
        super(message);
    }
}
