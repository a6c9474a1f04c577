package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The packet delay line lab ({@link LabLink#delayLine}): ICMP and TCP between the namespaces see the set
 * RTT; a bulk TCP stream at the tbf rate crosses without the delay line dropping or reordering a packet; the
 * goodput of one stream at 0, 50 and 200 ms (printed; figures depend on the load).
 */
class DelayLineLabTest {
    private static final long RATE = 100_000_000;
    private static final Pattern PING = Pattern.compile("round-trip min/avg/max = ([0-9.]+)/([0-9.]+)/([0-9.]+) ms");

    private Path dir;
    private TrafficServer server;

    @BeforeEach
    void setUp() throws Exception {
        var reason = NetworkLab.unavailableReason();
        assumeTrue(reason.isEmpty(), () -> "skipping delay line tests: " + reason.orElse(""));
        dir = Files.createTempDirectory("vmmig-delayline");
        server = TrafficServer.start(Endpoint.unix(dir.resolve("server.sock")));
    }

    @AfterEach
    void tearDown() throws Exception {
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
    void pingSeesTheSetRoundTripAndTcpConnectTakesOne() throws Exception {
        for (int ms : new int[] {50, 200}) {
            try (NetworkLab lab = NetworkLab.create(LabLink.delayLine(Duration.ofMillis(ms)))) {
                String out = lab.exec(LabHost.A, "busybox", "ping", "-c", "5", "-W", "5", LabHost.B.address());
                Matcher m = PING.matcher(out);
                assertTrue(m.find(), "ping output: " + out);
                double min = Double.parseDouble(m.group(1));
                double avg = Double.parseDouble(m.group(2));
                assertTrue(out.contains(" 0% packet loss"), out);
                // TCP: a connect is one round trip (SYN, SYN-ACK) seen by the client's stack
                TcpForwarder b = lab.forwarder(LabHost.B, Endpoint.tcp(LabHost.B.address(), 5201), server.endpoint(),
                        Duration.ZERO);
                TcpForwarder a = lab.forwarder(LabHost.A, Endpoint.unix(dir.resolve("a" + ms + ".sock")),
                        Endpoint.tcp(LabHost.B.address(), 5201), Duration.ZERO);
                Duration[] echo = TrafficClient.pingPong(a.listenEndpoint(), 11);
                double echoMedian = TrafficClient.median(echo).toNanos() / 1e6;
                System.out.printf("delay line %d ms: ping min/avg %.2f/%.2f ms; TCP 1-byte echo median %.2f ms "
                        + "(min %.2f); load %s%n", ms, min, avg, echoMedian, echo[0].toNanos() / 1e6, load());
                assertTrue(min >= ms && min <= ms + 3, "ping min " + min + " ms for RTT " + ms + ": " + out);
                assertTrue(avg <= ms + 20, "ping avg " + avg + " ms for RTT " + ms + ": " + out);
                assertTrue(echo[0].toNanos() / 1e6 >= ms, "TCP echo faster than the RTT: " + Arrays.toString(echo));
                assertTrue(echoMedian <= ms + 20, "TCP echo median " + echoMedian + " for RTT " + ms);
                b.close();
                a.close();
            }
        }
    }

    @Test
    void bulkAtTheRateCrossesWithoutLossOrReorderingInTheDelayLine() throws Exception {
        try (NetworkLab lab = NetworkLab.create(LabLink.delayLine(Duration.ofMillis(50)))) {
            lab.shape(RATE);
            Endpoint a = bridge(lab, "bulk");
            PacketDelayLine.Stats s0 = lab.delayLine().orElseThrow().stats();
            InterfaceCounters a0 = lab.counters(LabHost.A);
            InterfaceCounters b0 = lab.counters(LabHost.B);
            Map<String, Long> tcp0 = tcpCounters(lab, LabHost.A);
            TrafficClient.Bulk bulk = TrafficClient.bulk(a, 32L << 20);
            // the last packets (FIN, ACKs) may still be on their way: wait until both directions drained
            PacketDelayLine.Stats s;
            InterfaceCounters ca;
            InterfaceCounters cb;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            do {
                s = lab.delayLine().orElseThrow().stats().minus(s0);
                ca = lab.counters(LabHost.A).minus(a0);
                cb = lab.counters(LabHost.B).minus(b0);
            } while ((ca.txPackets() != s.aToBPackets() || cb.txPackets() != s.bToAPackets())
                    && System.nanoTime() < deadline);
            Map<String, Long> tcp = minus(tcpCounters(lab, LabHost.A), tcp0);
            System.out.printf("delay line 50 ms + tbf 100 Mbit/s, 32 MiB: %s; a->b %d packets %d B dropped %d, "
                    + "b->a %d packets, late by at most %d us; tun-a tx %d pkts, tun-b rx %d pkts; TCP %s; load %s%n",
                    bulk.mbit(), s.aToBPackets(), s.aToBBytes(), s.aToBDropped(), s.bToAPackets(),
                    s.maxLate().toNanos() / 1000, ca.txPackets(), cb.rxPackets(), tcp, load());
            assertEquals(bulk.crcSent(), bulk.crcReceived(), "bytes intact");
            assertEquals(0, s.aToBDropped() + s.bToADropped(), "the delay line dropped packets: " + s);
            assertEquals(ca.txPackets(), s.aToBPackets(), "every packet A sent was delivered to B's device: " + s);
            assertEquals(s.aToBPackets(), cb.rxPackets(), "B's device received what the delay line wrote");
            assertTrue(s.aToBBytes() >= bulk.sent(), "payload crossed the delay line: " + s);
            assertEquals(0, tcp.get("TCPSACKReorder") + tcp.get("TCPTSReorder") + tcp.get("TCPRenoReorder"),
                    "the sender saw reordering: " + tcp);
            double ratio = bulk.bitsPerSecond() / RATE;
            assertTrue(ratio >= 0.5 && ratio <= 1.0, "one stream at " + bulk.mbit() + " over 100 Mbit/s, 50 ms");
        }
    }

    @Test
    void oneStreamGoodputAtZeroFiftyAndTwoHundredMs() throws Exception {
        StringBuilder figures = new StringBuilder();
        double[] ratios = new double[3];
        int i = 0;
        for (int ms : new int[] {0, 50, 200}) {
            try (NetworkLab lab = NetworkLab.create(LabLink.delayLine(Duration.ofMillis(ms)))) {
                lab.shape(RATE);
                TrafficClient.Bulk bulk = TrafficClient.bulk(bridge(lab, "g" + ms), 48L << 20);
                assertEquals(bulk.crcSent(), bulk.crcReceived(), "bytes intact at " + ms + " ms");
                ratios[i++] = bulk.bitsPerSecond() / RATE;
                figures.append(String.format(" %d ms: %s;", ms, bulk.mbit()));
            }
        }
        System.out.printf("one TCP stream, 48 MiB incl. slow start, tbf 100 Mbit/s on TUN:%s load %s%n", figures, load());
        assertTrue(ratios[0] >= 0.8, "0 ms: " + figures);
        assertTrue(ratios[2] > 0.2, "200 ms: " + figures);
    }

    /** Forwarders (no delay of their own) from a unix socket here to the JVM server, across the link. */
    private Endpoint bridge(NetworkLab lab, String name) {
        lab.forwarder(LabHost.B, Endpoint.tcp(LabHost.B.address(), 5201), server.endpoint(), Duration.ZERO);
        return lab.forwarder(LabHost.A, Endpoint.unix(dir.resolve(name + ".sock")),
                Endpoint.tcp(LabHost.B.address(), 5201), Duration.ZERO).listenEndpoint();
    }

    /** TcpExt counters of {@code host}'s namespace (/proc/net/netstat) plus Tcp RetransSegs. */
    static Map<String, Long> tcpCounters(NetworkLab lab, LabHost host) {
        Map<String, Long> c = new TreeMap<>();
        String[] lines = lab.exec(host, "cat", "/proc/net/netstat", "/proc/net/snmp").split("\n");
        for (int i = 0; i + 1 < lines.length; i += 1) {
            String[] names = lines[i].split("\\s+");
            String[] values = lines[i + 1].split("\\s+");
            if (names.length == values.length && names[0].equals(values[0]) && (names[0].equals("TcpExt:")
                    || names[0].equals("Tcp:")) && !values[1].chars().allMatch(Character::isLetter)) {
                for (int k = 1; k < names.length; k++) {
                    if (names[k].endsWith("Reorder") || names[k].equals("RetransSegs")) {
                        c.put(names[k], Long.parseLong(values[k]));
                    }
                }
            }
        }
        return c;
    }

    private static Map<String, Long> minus(Map<String, Long> a, Map<String, Long> b) {
        Map<String, Long> d = new TreeMap<>();
        a.forEach((k, v) -> d.put(k, v - b.getOrDefault(k, 0L)));
        return d;
    }

    private static String load() throws Exception {
        return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    }
}
