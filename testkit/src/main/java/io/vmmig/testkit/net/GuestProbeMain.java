package io.vmmig.testkit.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The outside probe as a process (in a lab namespace): {@code GuestProbeMain HOST PORT INTERVAL_MS} sends a
 * 16-byte UDP datagram every interval (sequence number, send time in epoch microseconds, both big-endian
 * longs) to an echo and prints, for each datagram that comes back:
 *
 * <pre>
 * PROBING HOST PORT INTERVAL_MS          (once, when the socket is up)
 * REPLY SEQ SENT_EPOCH_MICROS RECEIVED_EPOCH_MICROS
 * </pre>
 *
 * Runs until its stdin ends (it dies with the JVM that started it). {@link GuestProbe} reads it.
 */
public final class GuestProbeMain {
    static final int DATAGRAM_BYTES = 16;

    private GuestProbeMain() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            System.err.println("usage: GuestProbeMain HOST PORT INTERVAL_MS");
            System.exit(2);
        }
        InetSocketAddress target = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        long intervalMs = Long.parseLong(args[2]);
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, "US-ASCII");
        try (DatagramSocket socket = new DatagramSocket()) {
            ScheduledExecutorService sender = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "probe-sender");
                t.setDaemon(true);
                return t;
            });
            long[] seq = {0};
            sender.scheduleAtFixedRate(() -> {
                ByteBuffer b = ByteBuffer.allocate(DATAGRAM_BYTES).putLong(seq[0]++).putLong(epochMicros(Instant.now()));
                try {
                    socket.send(new DatagramPacket(b.array(), DATAGRAM_BYTES, target));
                } catch (IOException e) {
                    // no route yet, or an ICMP error from the last one: the next probe tries again
                }
            }, 0, intervalMs, TimeUnit.MILLISECONDS);
            Thread receiver = new Thread(() -> receive(socket, out), "probe-receiver");
            receiver.setDaemon(true);
            receiver.start();
            out.println("PROBING " + args[0] + " " + args[1] + " " + intervalMs);
            InputStream in = System.in;
            byte[] sink = new byte[256];
            while (in.read(sink) >= 0) {
                // until the parent goes away
            }
            sender.shutdownNow();
        }
    }

    private static void receive(DatagramSocket socket, PrintStream out) {
        byte[] buf = new byte[64];
        while (!socket.isClosed()) {
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                socket.receive(p);
            } catch (PortUnreachableException e) {
                continue;
            } catch (IOException e) {
                return;
            }
            long received = epochMicros(Instant.now());
            if (p.getLength() != DATAGRAM_BYTES) continue;
            ByteBuffer b = ByteBuffer.wrap(buf, 0, DATAGRAM_BYTES);
            out.println("REPLY " + b.getLong() + " " + b.getLong() + " " + received);
        }
    }

    static long epochMicros(Instant t) {
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
    }
}
