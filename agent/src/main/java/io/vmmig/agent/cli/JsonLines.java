package io.vmmig.agent.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;

/** {@code --json}: every event line exactly as the agent sent it, one per line, flushed at once. */
public final class JsonLines implements EventSink {
    private final OutputStream out;

    public JsonLines(OutputStream out) {
        this.out = out;
    }

    @Override
    public synchronized void accept(ReceivedEvent event) {
        try {
            out.write(event.raw());
            out.write('\n');
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to stdout", e);
        }
    }
}
