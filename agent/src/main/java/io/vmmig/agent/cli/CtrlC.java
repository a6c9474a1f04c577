package io.vmmig.agent.cli;

import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGINT as an {@link InterruptSource}: while registered, Ctrl-C calls the handler instead of ending the
 * JVM; closing the registration restores the previous behaviour.
 */
public final class CtrlC implements InterruptSource {
    private static final Signal INT = new Signal("INT");

    @Override
    public Registration onInterrupt(Runnable handler) {
        SignalHandler previous = Signal.handle(INT, signal -> handler.run());
        return () -> Signal.handle(INT, previous);
    }
}
