package io.vmmig.nbd.server;

import io.vmmig.nbd.protocol.NbdMagic;
import io.vmmig.nbd.protocol.NbdOption;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A deliberately low-level NBD client for robustness tests: it sends exactly the bytes a test wants
 * (including broken ones) and reads with deadlines, so a misbehaving server fails the test instead of hanging it.
 */
final class RawNbdClient implements AutoCloseable {
    static final Duration DEADLINE = Duration.ofSeconds(10);

    record OptionReply(int option, int type, ByteBuffer data) {}

    record SimpleReply(int error, long cookie) {}

    record Chunk(int flags, int type, long cookie, ByteBuffer payload) {}

    private final SocketChannel channel;
    private final Selector selector;

    RawNbdClient(Path socket) throws IOException {
        channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        channel.configureBlocking(false);
        selector = Selector.open();
        channel.register(selector, SelectionKey.OP_READ);
    }

    /** Reads the greeting and answers with fixed newstyle + no zeroes. */
    RawNbdClient greet() throws IOException {
        ByteBuffer g = read(18);
        if (g.getLong() != NbdMagic.NBDMAGIC || g.getLong() != NbdMagic.IHAVEOPT) throw new IOException("bad greeting");
        send(ByteBuffer.allocate(4).putInt(NbdMagic.CLIENT_FLAG_FIXED_NEWSTYLE | NbdMagic.CLIENT_FLAG_NO_ZEROES).array());
        return this;
    }

    void option(int option, byte[] data) throws IOException {
        send(ByteBuffer.allocate(16 + data.length).putLong(NbdMagic.IHAVEOPT).putInt(option).putInt(data.length).put(data).array());
    }

    OptionReply optionReply() throws IOException {
        ByteBuffer h = read(20);
        if (h.getLong() != NbdMagic.OPTION_REPLY) throw new IOException("bad option reply magic");
        int opt = h.getInt();
        int type = h.getInt();
        return new OptionReply(opt, type, read(h.getInt()));
    }

    /** Replies to one option up to and including the final (ACK or error) one. */
    List<OptionReply> optionReplies() throws IOException {
        List<OptionReply> out = new ArrayList<>();
        OptionReply r;
        do {
            r = optionReply();
            out.add(r);
        } while (r.type() != NbdOption.REP_ACK && (r.type() & NbdOption.REP_FLAG_ERROR) == 0);
        return out;
    }

    static byte[] infoRequest(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length).putInt(n.length).put(n).putShort((short) infos.length);
        for (int i : infos) b.putShort((short) i);
        return b.array();
    }

    static byte[] metaRequest(String name, String... queries) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        int len = 8 + n.length;
        for (String q : queries) len += 4 + q.getBytes(StandardCharsets.UTF_8).length;
        ByteBuffer b = ByteBuffer.allocate(len).putInt(n.length).put(n).putInt(queries.length);
        for (String q : queries) {
            byte[] qb = q.getBytes(StandardCharsets.UTF_8);
            b.putInt(qb.length).put(qb);
        }
        return b.array();
    }

    /** Negotiates and enters transmission on {@code export}. @return the transmission flags */
    int go(String export, boolean structured, String... metaContexts) throws IOException {
        if (structured) {
            option(NbdOption.STRUCTURED_REPLY.code, new byte[0]);
            expectAck(optionReplies());
        }
        if (metaContexts.length > 0) {
            option(NbdOption.SET_META_CONTEXT.code, metaRequest(export, metaContexts));
            expectAck(optionReplies());
        }
        option(NbdOption.GO.code, infoRequest(export));
        List<OptionReply> rs = optionReplies();
        expectAck(rs);
        for (OptionReply r : rs) {
            if (r.type() == NbdOption.REP_INFO && r.data().getShort(0) == NbdOption.INFO_EXPORT) return r.data().getShort(10) & 0xffff;
        }
        throw new IOException("no NBD_INFO_EXPORT");
    }

    private static void expectAck(List<OptionReply> rs) throws IOException {
        if (rs.get(rs.size() - 1).type() != NbdOption.REP_ACK) {
            throw new IOException("option failed with type 0x" + Integer.toHexString(rs.get(rs.size() - 1).type()));
        }
    }

    void request(int flags, int type, long cookie, long offset, long length, byte[] payload) throws IOException {
        send(RequestBytes.encode(flags, type, cookie, offset, length, payload));
    }

    SimpleReply simpleReply() throws IOException {
        ByteBuffer h = read(16);
        if (h.getInt() != NbdMagic.SIMPLE_REPLY) throw new IOException("bad simple reply magic");
        return new SimpleReply(h.getInt(), h.getLong());
    }

    Chunk chunk() throws IOException {
        ByteBuffer h = read(20);
        if (h.getInt() != NbdMagic.STRUCTURED_REPLY) throw new IOException("bad structured reply magic");
        int flags = h.getShort() & 0xffff;
        int type = h.getShort() & 0xffff;
        long cookie = h.getLong();
        return new Chunk(flags, type, cookie, read(h.getInt()));
    }

    void send(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (b.hasRemaining()) {
            if (channel.write(b) == 0) {
                SelectionKey key = channel.keyFor(selector);
                key.interestOps(SelectionKey.OP_WRITE);
                try {
                    await(deadline);
                } finally {
                    key.interestOps(SelectionKey.OP_READ);
                }
            }
        }
    }

    ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (b.hasRemaining()) {
            int r = channel.read(b);
            if (r < 0) throw new EOFException("server closed the connection after " + b.position() + " of " + n + " bytes");
            if (r == 0) await(deadline);
        }
        return b.flip();
    }

    /** Waits until the server closes the connection; bytes it sends meanwhile are discarded and counted. */
    long awaitClosed() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        long discarded = 0;
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (true) {
            b.clear();
            int r;
            try {
                r = channel.read(b);
            } catch (IOException reset) {
                return discarded;
            }
            if (r < 0) return discarded;
            discarded += r;
            if (r == 0) await(deadline);
        }
    }

    private void await(long deadline) throws IOException {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) throw new IOException("the server did not make progress within " + DEADLINE);
        selector.select(left);
        selector.selectedKeys().clear();
    }

    @Override
    public void close() throws IOException {
        selector.close();
        channel.close();
    }
}
