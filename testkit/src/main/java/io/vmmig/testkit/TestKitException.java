package io.vmmig.testkit;

/** The one error type of the test harness: something about QEMU, the guest or the host tools went wrong. */
public class TestKitException extends RuntimeException {
    public TestKitException(String message) {
        super(message);
    }

    public TestKitException(String message, Throwable cause) {
        super(message, cause);
    }
}
