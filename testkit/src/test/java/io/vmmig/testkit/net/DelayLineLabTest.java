package io.vmmig.testkit.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The packet delay line lab ({@link LabLink#delayLine}): ICMP and TCP between the namespaces take at least
 * the set RTT, both ways; packets arrive in the order sent; the delay line's counters match the devices';
 * a TCP stream is bound by window / RTT like on a real link; closing the lab ends the process and removes
 * the namespaces. Only lower bounds on time are asserted (a loaded machine makes everything slower, never
 * faster); goodputs are printed with the load.
 */
class DelayLineLabTest {
    private static final long RATE = 100_000_000;
    private static final Pattern PING = Pattern.compile("round-trip min/avg/max = ([0-9.]+)/([0-9.]+)/([0-9.]+) ms");
    private static final Pattern SEQ = Pattern.compile("seq=(\\d+) ");

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
    void pingBothWaysAndTcpRoundTripsTakeAtLeastTheSetRtt() throws Exception {
        for (int ms : new int[] {50, 200}) {
            try (NetworkLab lab = NetworkLab.create(LabLink.delayLine(Duration.ofMillis(ms)))) {
                double[] fromA = ping(lab, LabHost.A, 5);
                double[] fromB = ping(lab, LabHost.B, 5);
                Duration[] echo = TrafficClient.pingPong(bridge(lab, "echo" + ms), 11);
                double echoMin = echo[0].toNanos() / 1e6;
                System.out.printf("delay line %d ms: ping a->b min/avg %.2f/%.2f ms, b->a %.2f/%.2f ms; TCP 1-byte echo "
                        + "min/median %.2f/%.2f ms; realtime %s; load %s%n", ms, fromA[0], fromA[1], fromB[0], fromB[1],
                        echoMin, TrafficClient.median(echo).toNanos() / 1e6, lab.delayLine().orElseThrow().realtime(),
                        load());
                assertTrue(fromA[0] >= ms, "ping a->b min " + fromA[0] + " ms for RTT " + ms);
                assertTrue(fromB[0] >= ms, "ping b->a min " + fromB[0] + " ms for RTT " + ms);
                // a 1-byte echo through the forwarders: one TCP round trip between the namespaces
                assertTrue(echoMin >= ms, "TCP echo faster than the RTT: " + Arrays.toString(echo));
            }
        }
    }

    @Test
    void packetsArriveInTheOrderSentAndTheCountersAddUp() throws Exception {
        try (NetworkLab lab = NetworkLab.create(LabLink.delayLine(Duration.ofMillis(50)))) {
            PacketDelayLine line = lab.delayLine().orElseThrow();
            PacketDelayLine.Stats s0 = line.stats();
            // 200 echo requests 2 ms apart: ~25 in flight at once, each a 1 KiB packet
            String out = lab.exec(LabHost.A, "busybox", "ping", "-c", "200", "-i", "0.002", "-s", "1000", "-W", "10",
                    LabHost.B.address());
            PacketDelayLine.Stats s = line.stats().minus(s0);
            List<Integer> seqs = new ArrayList<>();
            Matcher m = SEQ.matcher(out);
            while (m.find()) {
                seqs.add(Integer.parseInt(m.group(1)));
            }
            System.out.printf("200 pings 2 ms apart over 50 ms: %d replies, stats %s; load %s%n", seqs.size(), s, load());
            assertEquals(200, seqs.size(), out);
            for (int i = 0; i < seqs.size(); i++) {
                assertEquals(i, seqs.get(i), "replies out of order: " + seqs);
            }
            assertEquals(200, s.aToBPackets(), "requests through the delay line: " + s);
            assertEquals(200, s.bToAPackets(), "replies through the delay line: " + s);
            assertTrue(s.aToBBytes() >= 200 * 1028, "1000 data bytes + ICMP header per request: " + s);
            assertEquals(0, s.aToBDropped() + s.bToADropped(), s.toString());
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
            long bytes = 32L << 20;
            TrafficClient.Bulk bulk = TrafficClient.bulk(a, bytes);
            // the last packets (FIN, ACKs) may still be on their way: wait until both directions drained
            PacketDelayLine.Stats s;
            InterfaceCounters ca;
            InterfaceCounters cb;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            do {
                s = lab.delayLine().orElseThrow().stats().minus(s0);
                ca = lab.counters(LabHost.A).minus(a0);
                cb = lab.counters(LabHost.B).minus(b0);
            } while ((ca.txPackets() != s.aToBPackets() || cb.txPackets() != s.bToAPackets()
                    || cb.rxPackets() != s.aToBPackets()) && System.nanoTime() < deadline);
            Map<String, Long> tcp = minus(tcpCounters(lab, LabHost.A), tcp0);
            System.out.printf("delay line 50 ms + tbf 100 Mbit/s, 32 MiB: %s; a->b %d packets %d B dropped %d, "
                    + "b->a %d packets, late by at most %d us; tun-a tx %d pkts, tun-b rx %d pkts; TCP %s; load %s%n",
                    bulk.mbit(), s.aToBPackets(), s.aToBBytes(), s.aToBDropped(), s.bToAPackets(),
                    s.maxLate().toNanos() / 1000, ca.txPackets(), cb.rxPackets(), tcp, load());
            assertEquals(bulk.crcSent(), bulk.crcReceived(), "bytes intact");
            assertEquals(bytes, bulk.received(), "bytes at the sink");
            assertEquals(0, s.aToBDropped() + s.bToADropped(), "the delay line dropped packets: " + s);
            assertEquals(ca.txPackets(), s.aToBPackets(), "every packet A sent went through the delay line: " + s);
            assertEquals(s.aToBPackets(), cb.rxPackets(), "B's device received what the delay line wrote");
            assertEquals(cb.txPackets(), s.bToAPackets(), "every packet B sent went through the delay line: " + s);
            assertTrue(s.aToBBytes() >= bytes, "payload crossed the delay line: " + s);
            assertEquals(0, tcp.get("TCPSACKReorder") + tcp.get("TCPTSReorder") + tcp.get("TCPRenoReorder"),
                    "the sender saw reordering: " + tcp);
            // tbf: never faster than the rate (its 64 KiB bucket aside)
            assertTrue(bulk.nanos() / 1e9 >= (bytes - (64 << 10)) * 8.0 / RATE, "faster than the link: " + bulk.mbit());
        }
    }

    @Test
    void aStreamIsBoundByItsReceiveWindowOverTheRtt() throws Exception {
        Duration rtt = Duration.ofMillis(50);
        long rmemMax = 256 << 10;
        long bytes = 8L << 20;
        try (NetworkLab lab = NetworkLab.create(LabLink.delayLine(rtt))) {
            lab.shape(RATE);
            // B's receive buffer (and so the window it offers) at most 256 KiB: at most 256 KiB per RTT
            lab.exec(LabHost.B, "sysctl", "-w", "net.ipv4.tcp_rmem=4096 131072 " + rmemMax);
            TrafficClient.Bulk bulk = TrafficClient.bulk(bridge(lab, "window"), bytes);
            double windowBound = (bytes / (double) rmemMax - 1) * rtt.toNanos() / 1e9;
            System.out.printf("50 ms, window <= 256 KiB, 8 MiB: %s (window/RTT allows at most %.1f Mbit/s); load %s%n",
                    bulk.mbit(), rmemMax * 8.0 / (rtt.toNanos() / 1e9) / 1e6, load());
            assertEquals(bulk.crcSent(), bulk.crcReceived(), "bytes intact");
            assertTrue(bulk.nanos() / 1e9 >= windowBound, "8 MiB in " + bulk.mbit() + " with a 256 KiB window at "
                    + rtt.toMillis() + " ms: at least " + windowBound + " s");
        }
    }

    @Test
    void oneStreamGoodputWithDefaultBuffersAtZeroFiftyAndTwoHundredMs() throws Exception {
        StringBuilder figures = new StringBuilder();
        long bytes = 48L << 20;
        for (int ms : new int[] {0, 50, 200}) {
            try (NetworkLab lab = NetworkLab.create(LabLink.delayLine(Duration.ofMillis(ms)))) {
                lab.shape(RATE);
                String rmem = lab.exec(LabHost.B, "sysctl", "-n", "net.ipv4.tcp_rmem").trim();
                String wmem = lab.exec(LabHost.A, "sysctl", "-n", "net.ipv4.tcp_wmem").trim();
                TrafficClient.Bulk bulk = TrafficClient.bulk(bridge(lab, "g" + ms), bytes);
                assertEquals(bulk.crcSent(), bulk.crcReceived(), "bytes intact at " + ms + " ms");
                assertTrue(bulk.nanos() / 1e9 >= (bytes - (64 << 10)) * 8.0 / RATE + ms / 1000.0,
                        "faster than the link at " + ms + " ms: " + bulk.mbit());
                figures.append(String.format(" %d ms: %s (BDP %d KiB; tcp_rmem %s, tcp_wmem %s);", ms, bulk.mbit(),
                        RATE / 8 * ms / 1000 / 1024, rmem.replaceAll("\\s+", " "), wmem.replaceAll("\\s+", " ")));
            }
        }
        System.out.printf("one TCP stream, 48 MiB incl. slow start, tbf 100 Mbit/s on TUN:%s load %s%n", figures, load());
    }

    @Test
    void closeEndsTheDelayLineAndRemovesBothNamespaces() throws Exception {
        NetworkLab lab = NetworkLab.create(LabLink.delayLine(Duration.ofMillis(10)));
        PacketDelayLine line = lab.delayLine().orElseThrow();
        long pid = line.pid();
        List<String> names = List.of(lab.namespace(LabHost.A), lab.namespace(LabHost.B));
        assertTrue(line.isAlive());
        assertTrue(LabNamespaces.list().containsAll(names));
        lab.close();
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "delay line " + pid + " still runs");
        List<String> left = LabNamespaces.list();
        assertTrue(names.stream().noneMatch(left::contains), "namespaces left: " + left);
    }

    /** min and avg of {@code count} pings from {@code from} to the other host, after checking none was lost. */
    private static double[] ping(NetworkLab lab, LabHost from, int count) {
        String out = lab.exec(from, "busybox", "ping", "-c", Integer.toString(count), "-W", "10",
                from.peer().address());
        Matcher m = PING.matcher(out);
        assertTrue(m.find(), "ping output: " + out);
        assertTrue(out.contains(" 0% packet loss"), out);
        return new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2))};
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
