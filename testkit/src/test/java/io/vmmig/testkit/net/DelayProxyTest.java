package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link DelayProxy} in this JVM on loopback (no namespaces, no root needed). */
class DelayProxyTest {

    @Test
    void roundTripIsTwiceTheOneWayDelay() throws Exception {
        try (TrafficServer echo = TrafficServer.start(Endpoint.tcp("127.0.0.1", 0));
                DelayProxy proxy = DelayProxy.start(Endpoint.tcp("127.0.0.1", 0), echo.endpoint(),
                        Duration.ofMillis(25))) {
            Duration[] rtts = TrafficClient.pingPong(proxy.listenEndpoint(), 21);
            Duration median = TrafficClient.median(rtts);
            System.out.printf("delay proxy 25 ms one-way: RTT median %.1f ms, min %.1f, max %.1f%n",
                    median.toNanos() / 1e6, rtts[0].toNanos() / 1e6, rtts[rtts.length - 1].toNanos() / 1e6);
            assertTrue(median.toMillis() >= 45 && median.toMillis() <= 2000, "RTT median " + median
                    + " not in 45..2000 ms; all: " + Arrays.toString(rtts));
            assertTrue(rtts[0].toMillis() >= 49, "no ping may beat 2 x delay: min " + rtts[0]);
        }
    }

    @Test
    void bulkThroughTheDelayIsIntactAndNotThrottled(@TempDir Path tmp) throws Exception {
        long bytes = 64L << 20;
        try (TrafficServer sink = TrafficServer.start(Endpoint.unix(tmp.resolve("sink.sock")));
                DelayProxy proxy = DelayProxy.start(Endpoint.unix(tmp.resolve("proxy.sock")), sink.endpoint(),
                        Duration.ofMillis(25))) {
            TrafficClient.Bulk direct = TrafficClient.bulk(sink.endpoint(), bytes);
            TrafficClient.Bulk delayed = TrafficClient.bulk(proxy.listenEndpoint(), bytes);
            System.out.println("loopback unix direct: " + direct.mbit() + "; through 25 ms delay proxy: "
                    + delayed.mbit());
            assertEquals(bytes, delayed.received(), "bytes through the proxy");
            assertEquals(delayed.crcSent(), delayed.crcReceived(), "CRC32 of the bytes through the proxy");
            assertEquals(bytes + 1, proxy.bytesToTarget(), "mode byte + data");
            assertEquals(16, proxy.bytesFromTarget(), "the sink's answer came back through the proxy");
            // 16 MiB per direction at 25 ms could carry 5 Gbit/s: the proxy must not be what limits a 1 Gbit/s lab
            assertTrue(delayed.bitsPerSecond() > 500e6, "proxy too slow: " + delayed.mbit());
        }
        assertTrue(Files.notExists(tmp.resolve("proxy.sock")), "proxy socket file removed on close");
    }

    @Test
    void targetDownClosesTheClient(@TempDir Path tmp) throws Exception {
        try (DelayProxy proxy = DelayProxy.start(Endpoint.tcp("127.0.0.1", 0),
                Endpoint.unix(tmp.resolve("nobody.sock")), Duration.ofMillis(5))) {
            try (var c = proxy.listenEndpoint().connect()) {
                int n = c.read(java.nio.ByteBuffer.allocate(1));
                assertEquals(-1, n, "client sees EOF when the target refuses");
            }
            assertEquals(1, proxy.acceptedConnections());
        }
    }
}
