package io.vmmig.testkit;

import java.time.Instant;

/**
 * One line the guest printed on a serial console, stamped by the host when its bytes arrived.
 * {@code nanoTime} values from different consoles of the same JVM are comparable, so the lines of a
 * migration's source and destination can be merged in time order.
 *
 * @param source    the console's name (the QEMU process name)
 * @param index     position on its console, from 0
 * @param nanoTime  {@link System#nanoTime()} at arrival
 * @param wallClock wall-clock time at arrival
 * @param text      the line without its line terminator
 */
public record ConsoleLine(String source, int index, long nanoTime, Instant wallClock, String text) {
    /** The form written to {@code console.log}: wall clock, nanoTime, text. */
    public String logForm() {
        return wallClock + " " + nanoTime + " " + text;
    }

    @Override
    public String toString() {
        return source + "#" + index + " " + wallClock + " " + text;
    }
}
