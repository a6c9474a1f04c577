package io.vmmig.testkit.net;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;

/** Test client of a {@link TrafficServer}: bulk transfers and ping-pongs, measured here. */
final class TrafficClient {
    private TrafficClient() {
    }

    /** What a bulk transfer sent and what the sink says it got. */
    record Bulk(long sent, long crcSent, long received, long crcReceived, long nanos) {
        double bitsPerSecond() {
            return sent * 8.0 / (nanos / 1e9);
        }

        String mbit() {
            return String.format("%.1f Mbit/s (%d bytes in %d ms)", bitsPerSecond() / 1e6, sent, nanos / 1_000_000);
        }
    }

    /** Sends {@code bytes} pseudo-random bytes to a sink; time from the first write to the sink's answer. */
    static Bulk bulk(Endpoint server, long bytes) throws IOException {
        byte[] pattern = new byte[1 << 20];
        new Random(42).nextBytes(pattern);
        try (SocketChannel c = server.connect()) {
            write(c, ByteBuffer.wrap(new byte[] {'S'}));
            CRC32 crc = new CRC32();
            long start = System.nanoTime();
            long left = bytes;
            long offset = 0;
            while (left > 0) {
                int n = (int) Math.min(left, 256 * 1024);
                int from = (int) (offset % pattern.length);
                n = Math.min(n, pattern.length - from);
                ByteBuffer b = ByteBuffer.wrap(pattern, from, n);
                crc.update(pattern, from, n);
                write(c, b);
                left -= n;
                offset += n + 7;  // shift the pattern so equal chunks do not repeat
            }
            c.shutdownOutput();
            ByteBuffer answer = read(c, 16);
            long nanos = System.nanoTime() - start;
            return new Bulk(bytes, crc.getValue(), answer.getLong(), answer.getLong(), nanos);
        }
    }

    /** {@code count} one-byte ping-pongs through an echo; the round-trip times, sorted. */
    static Duration[] pingPong(Endpoint server, int count) throws IOException {
        try (SocketChannel c = server.connect()) {
            write(c, ByteBuffer.wrap(new byte[] {'E'}));
            Duration[] rtts = new Duration[count];
            for (int i = 0; i < count; i++) {
                long t0 = System.nanoTime();
                write(c, ByteBuffer.wrap(new byte[] {(byte) i}));
                ByteBuffer back = read(c, 1);
                rtts[i] = Duration.ofNanos(System.nanoTime() - t0);
                if (back.get() != (byte) i) {
                    throw new IOException("echo returned the wrong byte at ping " + i);
                }
            }
            Arrays.sort(rtts);
            return rtts;
        }
    }

    static Duration median(Duration[] sorted) {
        return sorted[sorted.length / 2];
    }

    private static void write(SocketChannel c, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private static ByteBuffer read(SocketChannel c, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (c.read(b) < 0) {
                throw new EOFException("peer closed after " + b.position() + " of " + n + " bytes");
            }
        }
        return b.flip();
    }
}
