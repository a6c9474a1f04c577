package io.vmmig.agent.cli;

/** Where Ctrl-C comes from: the terminal's SIGINT ({@link CtrlC}), or a test. */
public interface InterruptSource {

    /** Calls {@code handler} (on some other thread) at each interrupt until the returned handle is closed. */
    Registration onInterrupt(Runnable handler);

    /** Undoes an {@link #onInterrupt} registration. */
    interface Registration extends AutoCloseable {
        @Override
        void close();
    }
}
