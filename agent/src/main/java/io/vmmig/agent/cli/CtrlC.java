package io.vmmig.agent.cli;

import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGINT as an {@link InterruptSource}: while registered, Ctrl-C calls the handler instead of ending the
 * JVM; closing the registration restores the previous behaviour. Where SIGINT cannot be caught (the JVM
 * runs with {@code -Xrs}), Ctrl-C ends the client as usual and the migration goes on in the agent.
 */
public final class CtrlC implements InterruptSource {
    private static final Signal INT = new Signal("INT");

    @Override
    public Registration onInterrupt(Runnable handler) {
        SignalHandler previous;
        try {
            previous = Signal.handle(INT, signal -> handler.run());
        } catch (IllegalArgumentException e) {
            return () -> { };
        }
        return () -> Signal.handle(INT, previous);
    }
}
