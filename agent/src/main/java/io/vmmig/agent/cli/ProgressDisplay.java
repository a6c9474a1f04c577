package io.vmmig.agent.cli;

import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.MigrationPhase;
import java.io.PrintStream;
import java.util.function.LongSupplier;

/**
 * The human view of a migration's events. On a terminal the progress sample is one line rewritten in place;
 * otherwise (a log, a pipe) at most one progress line per second. Phase changes get their own lines; the
 * report's summary ends it.
 */
public final class ProgressDisplay implements EventSink {
    private static final long LINE_INTERVAL_NANOS = 1_000_000_000L;

    private final PrintStream out;
    private final boolean tty;
    private final LongSupplier nanoTime;
    private int openLineLength = -1;
    private long lastLineNanos;
    private MigrationPhase lastLinePhase;
    private boolean printedProgress;

    /**
     * @param nanoTime the clock that spaces progress lines when not on a terminal ({@code System::nanoTime})
     */
    public ProgressDisplay(PrintStream out, boolean tty, LongSupplier nanoTime) {
        this.out = out;
        this.tty = tty;
        this.nanoTime = nanoTime;
    }

    @Override
    public synchronized void accept(ReceivedEvent received) {
        ControlEvent event = received.event();
        if (event instanceof ControlEvent.Progress p && p.progress() != null) {
            progress(ProgressLine.format(p.phase(), p.progress()), p.phase());
        } else if (event instanceof ControlEvent.PhaseChange c) {
            line(ProgressLine.elapsed(c.elapsedMillis()) + " phase " + ProgressLine.name(c.phase())
                    + (c.phase() == null ? "" : ": " + ProgressLine.meaning(c.phase())));
        } else if (event instanceof ControlEvent.Accepted a) {
            line("migration " + a.id() + ": " + a.vm() + " -> " + a.dest() + " (" + a.strategy() + ")");
        } else if (event instanceof ControlEvent.Report r) {
            String summary = r.summary() == null ? "migration " + r.id() + " completed" : r.summary().stripTrailing();
            line(summary);
        } else {
            finish();
        }
    }

    @Override
    public synchronized void finish() {
        if (openLineLength >= 0) {
            out.print('\n');
            out.flush();
            openLineLength = -1;
        }
    }

    private void progress(String text, MigrationPhase phase) {
        if (tty) {
            int pad = Math.max(0, openLineLength - text.length());
            out.print("\r" + text + " ".repeat(pad));
            out.flush();
            openLineLength = text.length();
            return;
        }
        long now = nanoTime.getAsLong();
        if (printedProgress && phase == lastLinePhase && now - lastLineNanos < LINE_INTERVAL_NANOS) return;
        lastLineNanos = now;
        lastLinePhase = phase;
        printedProgress = true;
        out.println(text);
        out.flush();
    }

    private void line(String text) {
        finish();
        out.println(text);
        out.flush();
    }
}
