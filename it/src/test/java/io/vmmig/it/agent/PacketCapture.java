package io.vmmig.it.agent;

import io.vmmig.testkit.net.LabHost;
import io.vmmig.testkit.net.NetworkLab;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code tcpdump -w} of every TCP packet on a lab host's veth end while it runs, then the capture read
 * back: each TCP flow's payload reassembled in sequence order (so a text split across two segments is
 * still found) and searched for a text.
 *
 * <p>The capture file is libpcap's format (the header written down by {@code pcap-savefile(5)}): a 24-byte
 * global header (magic {@code a1b2c3d4} microseconds or {@code a1b23c4d} nanoseconds, in the writer's byte
 * order; link type at offset 20, here 1 = Ethernet), then per packet a 16-byte header (seconds, fraction,
 * captured length, original length) and the captured bytes: Ethernet (14 bytes; type 0x0800 IPv4), IPv4
 * (header length in the low nibble of byte 0, total length at 2, protocol at 9 = 6 TCP, addresses at 12 and
 * 16), TCP (ports at 0 and 2, sequence number at 4, flags at 13, header length in the high nibble of byte 12).
 */
final class PacketCapture implements AutoCloseable {
    private final Process tcpdump;
    private final Path file;
    private final Path log;

    private PacketCapture(Process tcpdump, Path file, Path log) {
        this.tcpdump = tcpdump;
        this.file = file;
        this.log = log;
    }

    /** Starts capturing TCP on {@code host}'s veth end into {@code file}; returns once tcpdump listens. */
    static PacketCapture start(NetworkLab lab, LabHost host, Path file) throws Exception {
        Path log = file.resolveSibling(file.getFileName() + ".log");
        ProcessBuilder pb = new ProcessBuilder("tcpdump", "-i", host.interfaceName(), "-w", file.toString(), "-U",
                "-B", "65536", "-s", "0", "-n", "tcp").redirectErrorStream(true).redirectOutput(log.toFile());
        Process p = lab.spawn(host, pb);
        PacketCapture c = new PacketCapture(p, file, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!c.logText().contains("listening on")) {
            if (!p.isAlive()) throw new IllegalStateException("tcpdump exited: " + c.logText());
            if (System.nanoTime() > deadline) throw new IllegalStateException("tcpdump did not start: " + c.logText());
            p.waitFor(50, TimeUnit.MILLISECONDS);
        }
        return c;
    }

    private String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "";
        }
    }

    /** Stops tcpdump (SIGTERM: it flushes and prints its counts); returns how many packets the kernel dropped. */
    long stop() throws Exception {
        if (tcpdump.isAlive()) {
            tcpdump.destroy();
            if (!tcpdump.waitFor(60, TimeUnit.SECONDS)) tcpdump.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        Matcher m = Pattern.compile("(\\d+) packets dropped by kernel").matcher(logText());
        if (!m.find()) throw new IllegalStateException("tcpdump did not report its drops: " + logText());
        return Long.parseLong(m.group(1));
    }

    Path file() {
        return file;
    }

    /** One direction of a TCP connection, as {@code SRC:PORT>DST:PORT}. */
    record Flow(String src, int srcPort, String dst, int dstPort) {
        @Override
        public String toString() {
            return src + ":" + srcPort + ">" + dst + ":" + dstPort;
        }
    }

    /** What one flow carried: payload bytes in order, copies of the text, sequence gaps (missed segments). */
    record FlowCount(long bytes, long matches, long gaps) {}

    /** Per flow, in order of appearance. */
    record Summary(Map<Flow, FlowCount> flows) {
        long matches() {
            return flows.values().stream().mapToLong(FlowCount::matches).sum();
        }

        long bytesTo(String dst) {
            return flows.entrySet().stream().filter(e -> e.getKey().dst().equals(dst)).mapToLong(e -> e.getValue().bytes()).sum();
        }

        long gaps() {
            return flows.values().stream().mapToLong(FlowCount::gaps).sum();
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder();
            flows.forEach((f, c) -> b.append(String.format("  %s: %d bytes, %d copies, %d gaps%n", f, c.bytes(), c.matches(), c.gaps())));
            return b.toString();
        }
    }

    /** Reads the capture file back and counts {@code text} in each flow's reassembled payload. */
    static Summary search(Path pcap, String text) throws IOException {
        byte[] needle = text.getBytes(StandardCharsets.US_ASCII);
        Map<Flow, Stream> streams = new LinkedHashMap<>();
        try (InputStream in = new BufferedInputStream(Files.newInputStream(pcap), 1 << 20)) {
            DataInputStream data = new DataInputStream(in);
            byte[] global = new byte[24];
            data.readFully(global);
            ByteBuffer g = ByteBuffer.wrap(global).order(ByteOrder.LITTLE_ENDIAN);
            int magic = g.getInt(0);
            if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) g.order(ByteOrder.BIG_ENDIAN);
            else if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) throw new IOException("not a pcap file: magic " + Integer.toHexString(magic));
            if (g.getInt(20) != 1) throw new IOException("link type " + g.getInt(20) + " is not Ethernet");
            ByteOrder order = g.order();
            byte[] header = new byte[16];
            while (true) {
                try {
                    data.readFully(header);
                } catch (EOFException e) {
                    break;
                }
                int captured = ByteBuffer.wrap(header).order(order).getInt(8);
                byte[] packet = new byte[captured];
                data.readFully(packet);
                tcp(packet, streams, needle);
            }
        }
        Map<Flow, FlowCount> out = new LinkedHashMap<>();
        streams.forEach((f, s) -> out.put(f, new FlowCount(s.bytes, s.matches, s.gaps)));
        return new Summary(out);
    }

    private static void tcp(byte[] p, Map<Flow, Stream> streams, byte[] needle) {
        if (p.length < 14 + 20 || (p[12] & 0xff) != 0x08 || p[13] != 0x00) return;   // IPv4 only
        int ip = 14;
        int ihl = (p[ip] & 0x0f) * 4;
        int total = ((p[ip + 2] & 0xff) << 8) | (p[ip + 3] & 0xff);
        if (p[ip + 9] != 6) return;
        int end = total == 0 ? p.length : Math.min(p.length, ip + total);   // total 0: a GSO packet longer than 64 KiB
        int t = ip + ihl;
        if (t + 20 > end) return;
        int srcPort = ((p[t] & 0xff) << 8) | (p[t + 1] & 0xff);
        int dstPort = ((p[t + 2] & 0xff) << 8) | (p[t + 3] & 0xff);
        long seq = ByteBuffer.wrap(p, t + 4, 4).getInt() & 0xffffffffL;
        boolean syn = (p[t + 13] & 0x02) != 0;
        int off = t + ((p[t + 12] & 0xf0) >> 4) * 4;
        Flow f = new Flow(address(p, ip + 12), srcPort, address(p, ip + 16), dstPort);
        streams.computeIfAbsent(f, k -> new Stream(needle)).segment(seq, syn, p, off, Math.max(0, end - off));
    }

    private static String address(byte[] p, int at) {
        return (p[at] & 0xff) + "." + (p[at + 1] & 0xff) + "." + (p[at + 2] & 0xff) + "." + (p[at + 3] & 0xff);
    }

    /** One flow's payload in sequence order, searched as it is fed; the last needle-1 bytes carried over. */
    private static final class Stream {
        private final byte[] needle;
        private byte[] tail = new byte[0];
        private long next = -1;
        long bytes;
        long matches;
        long gaps;

        Stream(byte[] needle) {
            this.needle = needle;
        }

        void segment(long seq, boolean syn, byte[] p, int off, int len) {
            if (syn) {
                next = (seq + 1) & 0xffffffffL;
                return;
            }
            if (next < 0) next = seq;
            int ahead = (int) (seq - next);   // sequence arithmetic mod 2^32
            if (ahead < 0) {                  // a retransmission: only what lies beyond what we have
                int skip = Math.min(len, -ahead);
                off += skip;
                len -= skip;
                seq = next;
                ahead = 0;
            }
            if (len == 0) return;
            if (ahead > 0) {                  // a segment tcpdump did not see: start over after the hole
                gaps++;
                tail = new byte[0];
            }
            feed(p, off, len);
            next = (seq + len) & 0xffffffffL;
        }

        private void feed(byte[] p, int off, int len) {
            byte[] buf = new byte[tail.length + len];
            System.arraycopy(tail, 0, buf, 0, tail.length);
            System.arraycopy(p, off, buf, tail.length, len);
            for (int i = 0; i + needle.length <= buf.length; i++) {
                if (buf[i] == needle[0] && Arrays.equals(buf, i, i + needle.length, needle, 0, needle.length)) matches++;
            }
            bytes += len;
            tail = Arrays.copyOfRange(buf, Math.max(0, buf.length - (needle.length - 1)), buf.length);
        }
    }

    @Override
    public void close() throws Exception {
        if (tcpdump.isAlive()) stop();
    }
}
