package io.vmmig.lab.demo;

/** Timestamped lines on stdout, relative to the demo's start. */
final class Progress {
    private final long start = System.nanoTime();

    synchronized void say(String format, Object... args) {
        System.out.printf("[%6.1fs] %s%n", (System.nanoTime() - start) / 1e9, String.format(format, args));
    }
}
