package io.vmmig.strategy.peer;

import io.vmmig.strategy.RemainingSet;
import io.vmmig.strategy.WriteCounts;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * The hand-over's body: the remaining set and its write counts as runs, deflated, cut into parts
 * (one REMAINING frame each). Written down in {@code agent/README-peer.md}, "REMAINING".
 *
 * <p>Each part: {@code u32 chunks} (the disk's chunk count), {@code u32 remaining} (chunks in the
 * set), {@code u32 part} (0, 1, ...), {@code u8 flags} (bit 0: last part), then a piece of one zlib
 * stream. Inflated, the stream is a sequence of runs, each three unsigned LEB128 varints:
 * {@code gap} (chunks not remaining since the end of the previous run, or since chunk 0),
 * {@code length - 1}, {@code count} (the write count of every chunk of the run). Consecutive runs
 * differ in count or are separated by a gap. A disk whose every chunk remains with one count is one run.
 */
public final class RemainingCodec {
    /** Bytes of a part's header. */
    public static final int PART_HEADER = 4 + 4 + 4 + 1;
    /** Compressed bytes per part: well under any frame limit a peer sets, small enough for flow control. */
    public static final int PART_BYTES = 256 * 1024;
    static final int FLAG_LAST = 1;

    private RemainingCodec() {}

    /** One REMAINING frame's body, as decoded; {@code data} is a slice of the frame. */
    public record Part(int chunks, int remaining, int part, boolean last, ByteBuffer data) {}

    /** Encodes {@code set} into parts of at most {@link #PART_BYTES} compressed bytes. */
    public static List<Part> encode(RemainingSet set) {
        return encode(set, PART_BYTES);
    }

    static List<Part> encode(RemainingSet set, int partBytes) {
        WriteCounts counts = set.counts();
        BitSet chunks = set.chunks();
        int total = counts.chunks();
        int remaining = chunks.cardinality();
        PartSink sink = new PartSink(total, remaining, partBytes);
        byte[] runs = new byte[64 * 1024];
        int n = 0;
        int end = 0; // end of the previous run
        for (int c = chunks.nextSetBit(0); c >= 0; c = chunks.nextSetBit(c)) {
            int stop = chunks.nextClearBit(c);
            while (c < stop) {
                int count = counts.get(c);
                int runEnd = c + 1;
                while (runEnd < stop && counts.get(runEnd) == count) runEnd++;
                if (n > runs.length - 15) {
                    sink.deflate(runs, n);
                    n = 0;
                }
                n = putVarint(runs, n, c - end);
                n = putVarint(runs, n, runEnd - c - 1);
                n = putVarint(runs, n, count);
                end = runEnd;
                c = runEnd;
            }
        }
        sink.deflate(runs, n);
        return sink.finish();
    }

    private static int putVarint(byte[] b, int at, int v) {
        while ((v & ~0x7F) != 0) {
            b[at++] = (byte) ((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        b[at++] = (byte) v;
        return at;
    }

    /** Deflates into parts of bounded size. */
    private static final class PartSink {
        private final Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        private final int chunks;
        private final int remaining;
        private final byte[] out;
        private int outLength;
        private final List<Part> parts = new ArrayList<>();

        PartSink(int chunks, int remaining, int partBytes) {
            this.chunks = chunks;
            this.remaining = remaining;
            this.out = new byte[partBytes];
        }

        void deflate(byte[] b, int n) {
            deflater.setInput(b, 0, n);
            while (!deflater.needsInput()) drain(Deflater.NO_FLUSH);
        }

        List<Part> finish() {
            deflater.finish();
            while (!deflater.finished()) drain(Deflater.NO_FLUSH);
            deflater.end();
            parts.add(part(true));
            return parts;
        }

        private void drain(int flush) {
            outLength += deflater.deflate(out, outLength, out.length - outLength, flush);
            if (outLength == out.length) {
                parts.add(part(false));
                outLength = 0;
            }
        }

        private Part part(boolean last) {
            byte[] copy = java.util.Arrays.copyOf(out, outLength);
            return new Part(chunks, remaining, parts.size(), last, ByteBuffer.wrap(copy));
        }
    }

    /**
     * Collects the parts of one hand-over in order and decodes them once the last arrives. Any
     * inconsistency (a part out of order, a run outside the disk, a count of chunks that disagrees)
     * throws {@link PeerProtocolException}. The work is bounded by the disk's chunk count.
     */
    public static final class Assembly {
        private volatile int maxChunks;
        private final List<ByteBuffer> data = new ArrayList<>();
        private long dataBytes;
        private Part first;

        public Assembly(int maxChunks) {
            this.maxChunks = maxChunks;
        }

        /** From now on a hand-over may describe at most {@code maxChunks} chunks (the session's disk geometry). */
        public void limit(int maxChunks) {
            this.maxChunks = maxChunks;
        }

        public int maxChunks() {
            return maxChunks;
        }

        /**
         * The most compressed bytes a hand-over of {@code chunks} chunks may carry: each chunk its own run
         * of three varints (at most 1 + 1 + 5 bytes before deflate's small expansion), plus slack. The
         * parts are kept until the last one, so this bounds what a peer can make us hold.
         */
        static long maxDataBytes(int chunks) {
            return 16L * chunks + 64 * 1024;
        }

        /** Whether a hand-over is partly received. */
        public boolean started() {
            return first != null;
        }

        /** Adds a part; returns the set once the last part is in, else null. */
        public RemainingSet add(Part p) {
            if (first == null) {
                if (p.part() != 0) throw new PeerProtocolException("remaining set starts with part " + p.part());
                if (p.chunks() > maxChunks)
                    throw new PeerProtocolException("disk of " + p.chunks() + " chunks exceeds " + maxChunks);
                if (p.remaining() > p.chunks())
                    throw new PeerProtocolException(p.remaining() + " remaining chunks on a disk of " + p.chunks());
                first = p;
                dataBytes = 0;
            } else if (p.part() != data.size() || p.chunks() != first.chunks() || p.remaining() != first.remaining()) {
                throw new PeerProtocolException("remaining-set part " + p.part() + " (" + p.chunks() + " chunks, "
                        + p.remaining() + " remaining) does not follow part " + (data.size() - 1));
            }
            dataBytes += p.data().remaining();
            if (dataBytes > maxDataBytes(first.chunks())) {
                first = null;
                data.clear();
                throw new PeerProtocolException("remaining set of a " + p.chunks() + "-chunk disk carries more than "
                        + maxDataBytes(p.chunks()) + " compressed bytes");
            }
            data.add(p.data());
            if (!p.last()) return null;
            try {
                return decode(first.chunks(), first.remaining(), data);
            } finally {
                first = null;
                data.clear();
                dataBytes = 0;
            }
        }
    }

    static RemainingSet decode(int chunks, int remaining, List<ByteBuffer> parts) {
        // storage grows with the runs actually received, never by the declared chunk count alone
        WriteCounts counts = WriteCounts.growing(chunks);
        BitSet set = new BitSet();
        RunReader in = new RunReader(parts);
        int end = 0;
        long seen = 0;
        try {
            while (in.more()) {
                int gap = in.varint();
                int length = in.varint() + 1;
                int count = in.varint();
                if (length <= 0 || (long) end + gap + length > chunks)
                    throw new PeerProtocolException("remaining run " + ((long) end + gap) + "+" + Integer.toUnsignedString(length)
                            + " outside 0.." + (chunks - 1));
                int from = end + gap;
                set.set(from, from + length);
                counts.setRange(from, from + length, count);
                end = from + length;
                seen += length;
            }
        } catch (DataFormatException e) {
            throw new PeerProtocolException("remaining set is not a zlib stream: " + e.getMessage());
        } finally {
            in.end();
        }
        if (seen != remaining)
            throw new PeerProtocolException("remaining set of " + remaining + " chunks carries " + seen);
        return new RemainingSet(set, counts);
    }

    /** Varints out of the inflated parts. */
    private static final class RunReader {
        private final Inflater inflater = new Inflater();
        private final List<ByteBuffer> parts;
        private int nextPart;
        private final byte[] buf = new byte[64 * 1024];
        private int pos;
        private int limit;

        RunReader(List<ByteBuffer> parts) {
            this.parts = parts;
        }

        boolean more() throws DataFormatException {
            return pos < limit || fill();
        }

        private boolean fill() throws DataFormatException {
            pos = 0;
            limit = 0;
            while (limit == 0) {
                if (inflater.finished()) {
                    if (inflater.getRemaining() > 0 || nextPart < parts.size() && hasBytesAfter())
                        throw new PeerProtocolException("bytes after the end of the remaining set's zlib stream");
                    return false;
                }
                if (inflater.needsInput()) {
                    if (nextPart == parts.size()) throw new PeerProtocolException("remaining set's zlib stream is cut short");
                    inflater.setInput(parts.get(nextPart++).duplicate());
                    continue;
                }
                if (inflater.needsDictionary()) throw new PeerProtocolException("remaining set's zlib stream wants a dictionary");
                limit = inflater.inflate(buf);
            }
            return true;
        }

        private boolean hasBytesAfter() {
            for (int i = nextPart; i < parts.size(); i++) if (parts.get(i).hasRemaining()) return true;
            return false;
        }

        int varint() throws DataFormatException {
            if (limit - pos >= 5) { // fast path: the whole varint is in the buffer
                int v = 0;
                for (int shift = 0; shift < 35; shift += 7) {
                    int b = buf[pos++] & 0xFF;
                    v |= (b & 0x7F) << shift;
                    if ((b & 0x80) == 0) {
                        if (shift == 28 && b > 0x07) throw new PeerProtocolException("varint beyond 2^31-1 in the remaining set");
                        return v;
                    }
                }
                throw new PeerProtocolException("varint longer than 5 bytes in the remaining set");
            }
            int v = 0;
            for (int shift = 0; shift < 35; shift += 7) {
                if (!more()) throw new PeerProtocolException("remaining set ends inside a run");
                int b = buf[pos++] & 0xFF;
                v |= (b & 0x7F) << shift;
                if ((b & 0x80) == 0) {
                    if (v < 0 || shift == 28 && b > 0x07) throw new PeerProtocolException("varint beyond 2^31-1 in the remaining set");
                    return v;
                }
            }
            throw new PeerProtocolException("varint longer than 5 bytes in the remaining set");
        }

        void end() {
            inflater.end();
        }
    }
}
