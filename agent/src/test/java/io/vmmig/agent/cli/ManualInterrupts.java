package io.vmmig.agent.cli;

import java.util.concurrent.atomic.AtomicReference;

/** Ctrl-C pressed by a test. */
final class ManualInterrupts implements InterruptSource {
    private final AtomicReference<Runnable> handler = new AtomicReference<>();

    @Override
    public Registration onInterrupt(Runnable h) {
        handler.set(h);
        return () -> handler.compareAndSet(h, null);
    }

    /** Presses Ctrl-C (on another thread, as a signal would). */
    void press() throws InterruptedException {
        Runnable h = handler.get();
        if (h == null) throw new AssertionError("no Ctrl-C handler registered");
        Thread t = new Thread(h, "ctrl-c");
        t.start();
        t.join();
    }

    boolean registered() {
        return handler.get() != null;
    }
}
