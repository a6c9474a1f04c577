package io.vmmig.lab.bench;

import io.vmmig.testkit.net.InterfaceCounters;
import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Samples the source-side veth counters periodically, each direction apart: the timeline plots their sum,
 * {@link LinkFill} the bytes to the destination.
 */
public final class WireSampler implements AutoCloseable {
    private final java.util.function.Supplier<InterfaceCounters> counters;
    private final InterfaceCounters base;
    private final long startNanos;
    private final List<RunResult.WireSample> samples = new ArrayList<>();
    private final ScheduledExecutorService timer;

    public WireSampler(NetworkLab lab, long startNanos, long periodMillis) {
        this(() -> lab.counters(LabHost.A), startNanos, periodMillis);
    }

    /** Samples {@code counters} (the source side's veth end: tx = to the destination). */
    public WireSampler(java.util.function.Supplier<InterfaceCounters> counters, long startNanos, long periodMillis) {
        this.counters = counters;
        this.startNanos = startNanos;
        this.base = counters.get();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "wire-sampler");
            t.setDaemon(true);
            return t;
        });
        sample();
        timer.scheduleAtFixedRate(this::sample, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    private void sample() {
        try {
            InterfaceCounters d = counters.get().minus(base);
            long now = System.nanoTime();
            synchronized (samples) {
                samples.add(new RunResult.WireSample((now - startNanos) / 1e9, d.txBytes(), d.rxBytes()));
            }
        } catch (RuntimeException ignored) {
            // a missed sample leaves a gap in the plot only
        }
    }

    /** Counters since construction: tx = to the destination, rx = back to the source. */
    public InterfaceCounters delta() {
        return counters.get().minus(base);
    }

    public List<RunResult.WireSample> samples() {
        synchronized (samples) {
            return List.copyOf(samples);
        }
    }

    @Override
    public void close() throws InterruptedException {
        timer.shutdownNow();
        timer.awaitTermination(5, TimeUnit.SECONDS);
        sample();
    }
}
