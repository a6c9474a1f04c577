package io.vmmig.qmp;

/** Life cycle of a QMP connection (as in QEMU's python {@code qemu.qmp} Runstate). */
public enum QmpState {
    /** Not connected yet. */
    IDLE,
    /** Opening the socket. */
    CONNECTING,
    /** Socket open: waiting for the greeting and negotiating capabilities. */
    NEGOTIATING,
    /** Commands can be executed. */
    RUNNING,
    /** Tearing down: the socket is being closed; new calls already fail. */
    DISCONNECTING,
    /** Gone: pending calls are failed and every new call fails with {@link QmpConnectionLostException}. */
    CLOSED
}
