package io.vmmig.nbd.client;

import java.time.Duration;
import java.util.List;

/**
 * How to connect: export name, meta contexts to negotiate, structured replies, in-flight bounds,
 * deadlines, the largest non-data reply chunk accepted, and whether ranges are checked locally
 * against the export size before sending.
 */
public record NbdClientOptions(String exportName, List<String> metaContexts, boolean structuredReplies,
                               int maxInFlightRequests, int maxInFlightBytes,
                               Duration requestTimeout, Duration handshakeTimeout, Duration closeTimeout,
                               int maxMetadataPayload, boolean checkBounds) {

    public NbdClientOptions {
        if (exportName == null) throw new IllegalArgumentException("exportName is null");
        metaContexts = List.copyOf(metaContexts);
        if (maxInFlightRequests < 1) throw new IllegalArgumentException("maxInFlightRequests < 1");
        if (maxInFlightBytes < 1) throw new IllegalArgumentException("maxInFlightBytes < 1");
        if (maxMetadataPayload < 64) throw new IllegalArgumentException("maxMetadataPayload < 64");
    }

    /** Defaults: structured replies, no meta contexts, 64 requests / 64 MiB in flight, 60 s per request. */
    public static NbdClientOptions of(String exportName) {
        return new NbdClientOptions(exportName, List.of(), true, 64, 64 << 20, Duration.ofSeconds(60),
                Duration.ofSeconds(10), Duration.ofSeconds(10), 4 << 20, true);
    }

    public NbdClientOptions withMetaContexts(String... contexts) {
        return new NbdClientOptions(exportName, List.of(contexts), structuredReplies, maxInFlightRequests,
                maxInFlightBytes, requestTimeout, handshakeTimeout, closeTimeout, maxMetadataPayload, checkBounds);
    }

    public NbdClientOptions withStructuredReplies(boolean on) {
        return new NbdClientOptions(exportName, metaContexts, on, maxInFlightRequests, maxInFlightBytes,
                requestTimeout, handshakeTimeout, closeTimeout, maxMetadataPayload, checkBounds);
    }

    public NbdClientOptions withInFlight(int requests, int bytes) {
        return new NbdClientOptions(exportName, metaContexts, structuredReplies, requests, bytes,
                requestTimeout, handshakeTimeout, closeTimeout, maxMetadataPayload, checkBounds);
    }

    /** @param timeout per-request deadline, null or zero for none */
    public NbdClientOptions withRequestTimeout(Duration timeout) {
        return new NbdClientOptions(exportName, metaContexts, structuredReplies, maxInFlightRequests,
                maxInFlightBytes, timeout, handshakeTimeout, closeTimeout, maxMetadataPayload, checkBounds);
    }

    public NbdClientOptions withCheckBounds(boolean on) {
        return new NbdClientOptions(exportName, metaContexts, structuredReplies, maxInFlightRequests,
                maxInFlightBytes, requestTimeout, handshakeTimeout, closeTimeout, maxMetadataPayload, on);
    }
}
