package io.vmmig.nbd.server;

/**
 * Limits of an {@link NbdServer}.
 *
 * @param maxPayload       largest READ/WRITE payload accepted (advertised in NBD_INFO_BLOCK_SIZE)
 * @param maxInFlightBytes per connection: the reader stops taking requests while the payload bytes
 *                         of requests being executed exceed this (one request always proceeds)
 * @param workerThreads    threads executing requests, shared by all connections
 * @param socketSendBuffer SO_SNDBUF of accepted sockets (0: system default); a few MiB lets replies
 *                         go out without waiting for the client to drain (UNIX reads: +40% here)
 * @param handshakeTimeout a client that has not finished negotiating by then is disconnected
 */
public record NbdServerConfig(int maxPayload, long maxInFlightBytes, int workerThreads, int socketSendBuffer,
                              java.time.Duration handshakeTimeout) {
    public static final int DEFAULT_MAX_PAYLOAD = 32 << 20;
    public static final int DEFAULT_SEND_BUFFER = 4 << 20;
    public static final java.time.Duration DEFAULT_HANDSHAKE_TIMEOUT = java.time.Duration.ofSeconds(30);

    public NbdServerConfig(int maxPayload, long maxInFlightBytes, int workerThreads) {
        this(maxPayload, maxInFlightBytes, workerThreads, DEFAULT_SEND_BUFFER, DEFAULT_HANDSHAKE_TIMEOUT);
    }

    public NbdServerConfig {
        if (maxPayload < 4096) throw new IllegalArgumentException("maxPayload must be at least 4096: " + maxPayload);
        if (maxInFlightBytes <= 0) throw new IllegalArgumentException("maxInFlightBytes must be positive");
        if (workerThreads <= 0) throw new IllegalArgumentException("workerThreads must be positive");
        if (socketSendBuffer < 0) throw new IllegalArgumentException("socketSendBuffer must not be negative");
        if (handshakeTimeout == null || handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
            throw new IllegalArgumentException("handshakeTimeout must be positive: " + handshakeTimeout);
        }
    }

    public static NbdServerConfig defaults() {
        return new NbdServerConfig(DEFAULT_MAX_PAYLOAD, 64L << 20, Math.max(4, 2 * Runtime.getRuntime().availableProcessors()));
    }
}
