package io.vmmig.agent.metrics;

import io.vmmig.strategy.PullQueue;
import io.vmmig.strategy.destination.DestinationDiskTransfer;
import java.util.function.IntFunction;

/**
 * One destination migration's pull as the metrics see it: the queue depth (chunks not yet present) and
 * each on-demand pull's latency, sampled from the transfer by the session's progress tick. Not
 * thread-safe: one sampling thread.
 */
public final class PullMetrics implements AutoCloseable {
    private final AgentMetrics metrics;
    private final String id;
    private int latenciesSeen;

    PullMetrics(AgentMetrics metrics, String id) {
        this.metrics = metrics;
        this.id = id;
    }

    /** Takes the transfer's current figures (nothing before the hand-over). */
    public void sample(DestinationDiskTransfer transfer) {
        sample(transfer.pullStats(), transfer::onDemandLatencyNanos);
    }

    /** @param latenciesFrom the on-demand latencies (nanoseconds) from the n-th on */
    void sample(PullQueue.PullStats s, IntFunction<long[]> latenciesFrom) {
        if (s == null) return;
        metrics.pullQueue.labelValues(id).set(s.notPresent());
        long[] fresh = latenciesFrom.apply(latenciesSeen);
        latenciesSeen += fresh.length;
        for (long nanos : fresh) metrics.onDemandPull.observe(nanos / 1e9);
    }

    /** The migration ended: its queue is gone from the metrics. */
    @Override
    public void close() {
        metrics.pullQueue.remove(id);
    }
}
