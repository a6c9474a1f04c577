package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Real traffic over the lab link: JVM client -> unix socket -> forwarder in A (optionally delaying) -> TCP
 * over the veth pair (tbf) -> forwarder in B -> unix socket -> JVM sink/echo.
 */
class LabTrafficTest {
    private static final long RATE = 100_000_000;
    private static final int PORT = 5201;

    private static NetworkLab lab;
    private static Path dir;
    private static TrafficServer server;
    private static TcpForwarder direct;
    private static TcpForwarder delayed;

    @BeforeAll
    static void setUp() throws Exception {
        var reason = NetworkLab.unavailableReason();
        assumeTrue(reason.isEmpty(), () -> "skipping lab traffic tests: " + reason.orElse(""));
        dir = Files.createTempDirectory("vmmig-labtraffic");
        lab = NetworkLab.create();
        server = TrafficServer.start(Endpoint.unix(dir.resolve("server.sock")));
        lab.forwarder(LabHost.B, Endpoint.tcp(LabHost.B.address(), PORT), server.endpoint(), Duration.ZERO);
        Endpoint overLink = Endpoint.tcp(LabHost.B.address(), PORT);
        direct = lab.forwarder(LabHost.A, Endpoint.unix(dir.resolve("direct.sock")), overLink, Duration.ZERO);
        delayed = lab.forwarder(LabHost.A, Endpoint.unix(dir.resolve("delayed.sock")), overLink,
                Duration.ofMillis(25));
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (lab != null) {
            lab.close();  // kills the forwarders
        }
        if (server != null) {
            server.close();
        }
        if (dir != null) {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void tbfLimitsBulkToTheRateAndUnshapedIsFarFaster() throws Exception {
        lab.unshaped();
        TrafficClient.Bulk free = TrafficClient.bulk(direct.listenEndpoint(), 128L << 20);
        lab.shape(RATE);
        InterfaceCounters a0 = lab.counters(LabHost.A);
        InterfaceCounters b0 = lab.counters(LabHost.B);
        TrafficClient.Bulk shaped = TrafficClient.bulk(direct.listenEndpoint(), 24L << 20);
        InterfaceCounters a = lab.counters(LabHost.A).minus(a0);
        InterfaceCounters b = lab.counters(LabHost.B).minus(b0);
        System.out.println("lab unshaped: " + free.mbit() + "; tbf 100 Mbit/s: " + shaped.mbit()
                + "; veth-a tx " + a.txBytes() + " B / " + a.txPackets() + " pkts, veth-b rx " + b.rxBytes() + " B");

        assertEquals(free.crcSent(), free.crcReceived(), "unshaped bytes intact");
        assertEquals(shaped.sent(), shaped.received(), "all bytes arrived");
        assertEquals(shaped.crcSent(), shaped.crcReceived(), "shaped bytes intact");
        double ratio = shaped.bitsPerSecond() / RATE;
        assertTrue(ratio >= 0.7 && ratio <= 1.1, "shaped transfer at " + shaped.mbit() + " = " + ratio
                + " x 100 Mbit/s, expected 0.7..1.1");
        assertTrue(free.bitsPerSecond() > 3 * RATE, "unshaped should be far faster than 100 Mbit/s: " + free.mbit());
        assertTrue(a.txBytes() >= shaped.sent(), "veth-a sent at least the payload: " + a);
        assertTrue(b.rxBytes() >= shaped.sent(), "veth-b received at least the payload: " + b);
        assertTrue(a.rxBytes() < a.txBytes() / 10, "the reverse direction carries only ACKs: " + a);
    }

    @Test
    void delayedForwarderAddsRoundTripAndKeepsTheShapedRate() throws Exception {
        lab.shape(RATE);
        Duration[] rtts = TrafficClient.pingPong(delayed.listenEndpoint(), 21);
        Duration[] plain = TrafficClient.pingPong(direct.listenEndpoint(), 21);
        TrafficClient.Bulk bulk = TrafficClient.bulk(delayed.listenEndpoint(), 24L << 20);
        Duration median = TrafficClient.median(rtts);
        System.out.printf("lab RTT via 25 ms forwarder: median %.1f ms (min %.1f, max %.1f); without delay: "
                + "median %.2f ms; bulk via delay + tbf 100 Mbit/s: %s%n", median.toNanos() / 1e6,
                rtts[0].toNanos() / 1e6, rtts[rtts.length - 1].toNanos() / 1e6,
                TrafficClient.median(plain).toNanos() / 1e6, bulk.mbit());

        assertTrue(median.toMillis() >= 45 && median.toMillis() <= 2000,
                "RTT median " + median + " not in 45..2000 ms: " + Arrays.toString(rtts));
        assertTrue(TrafficClient.median(plain).toMillis() < 45, "no-delay path RTT: " + Arrays.toString(plain));
        assertEquals(bulk.crcSent(), bulk.crcReceived(), "bytes intact through delay + tbf");
        double ratio = bulk.bitsPerSecond() / RATE;
        assertTrue(ratio >= 0.7 && ratio <= 1.1, "delayed shaped transfer at " + bulk.mbit() + " = " + ratio
                + " x 100 Mbit/s, expected 0.7..1.1");
    }
    @Test
    void realNbdExportReadAcrossTheShapedLink() throws Exception {
        lab.shape(RATE);
        Path image = dir.resolve("disk.raw");
        Path copy = dir.resolve("copy.raw");
        byte[] data = new byte[16 << 20];
        new java.util.Random(7).nextBytes(data);
        Files.write(image, data);
        // qemu-nbd --fork returns once it listens; the daemon stays in B until the lab is closed
        lab.exec(LabHost.B, "qemu-nbd", "--fork", "--persistent", "-r", "-f", "raw", "-b", LabHost.B.address(),
                "-p", "10809", image.toString());
        InterfaceCounters b0 = lab.counters(LabHost.B);
        long t0 = System.nanoTime();
        lab.exec(LabHost.A, "nbdcopy", "nbd://" + LabHost.B.address() + ":10809/", copy.toString());
        long nanos = System.nanoTime() - t0;
        InterfaceCounters b = lab.counters(LabHost.B).minus(b0);
        double mbit = data.length * 8.0 / (nanos / 1e9) / 1e6;
        System.out.printf("nbdcopy of a 16 MiB qemu-nbd export over tbf 100 Mbit/s: %.1f Mbit/s (%d ms, "
                + "veth-b tx %d B)%n", mbit, nanos / 1_000_000, b.txBytes());
        assertTrue(Arrays.equals(data, Files.readAllBytes(copy)), "copy differs from the image");
        assertTrue(b.txBytes() >= data.length, "the data crossed the veth: " + b);
        assertTrue(mbit <= 110, "tbf must cap the copy at 100 Mbit/s: " + mbit);
        assertTrue(mbit >= 50, "copy far below the shaped rate: " + mbit);
    }
}
