package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdMagic;
import io.vmmig.nbd.protocol.NbdOption;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A scripted NBD server for faults a real server never sends: it negotiates like a fixed newstyle
 * server (or refuses GO with a given error), then hands the transmission phase to a script.
 */
final class FakeNbdPeer implements AutoCloseable {

    /** The transmission phase: read requests from in, write replies to out. */
    interface Script {
        void run(DataInputStream in, DataOutputStream out) throws Exception;
    }

    /** One request header as read by {@link #readRequest}. */
    record Request(int flags, int type, long cookie, long offset, int length) {}

    final Path socket;
    private final ServerSocketChannel server;
    final CompletableFuture<Void> done = new CompletableFuture<>();
    private volatile SocketChannel conn;

    /**
     * @param goError 0 to accept GO, else the NBD_REP_ERR_* to answer it with (message "go away")
     */
    FakeNbdPeer(Path dir, long size, int txFlags, int maxBlock, int goError, Script script) throws IOException {
        socket = dir.resolve("fake.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread t = new Thread(() -> {
            try (SocketChannel c = server.accept()) {
                conn = c;
                DataInputStream in = new DataInputStream(Channels.newInputStream(c));
                DataOutputStream out = new DataOutputStream(Channels.newOutputStream(c));
                if (negotiate(in, out, size, txFlags, maxBlock, goError)) script.run(in, out);
                out.flush();
                done.complete(null);
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        }, "fake-nbd-peer");
        t.setDaemon(true);
        t.start();
    }

    private static boolean negotiate(DataInputStream in, DataOutputStream out, long size, int txFlags, int maxBlock,
                                     int goError) throws IOException {
        out.writeLong(NbdMagic.NBDMAGIC);
        out.writeLong(NbdMagic.IHAVEOPT);
        out.writeShort(NbdMagic.FLAG_FIXED_NEWSTYLE | NbdMagic.FLAG_NO_ZEROES);
        out.flush();
        in.readInt();
        while (true) {
            if (in.readLong() != NbdMagic.IHAVEOPT) throw new IOException("bad option magic");
            int opt = in.readInt();
            in.readNBytes(in.readInt());
            if (opt == NbdOption.GO.code) {
                if (goError != 0) {
                    reply(out, opt, goError, "go away".getBytes(StandardCharsets.UTF_8));
                    return false;
                }
                byte[] export = new byte[12];
                java.nio.ByteBuffer.wrap(export).putShort((short) NbdOption.INFO_EXPORT).putLong(size).putShort((short) (txFlags | NbdCommand.TX_HAS_FLAGS));
                reply(out, opt, NbdOption.REP_INFO, export);
                if (maxBlock > 0) {
                    byte[] bs = new byte[14];
                    java.nio.ByteBuffer.wrap(bs).putShort((short) NbdOption.INFO_BLOCK_SIZE).putInt(1).putInt(4096).putInt(maxBlock);
                    reply(out, opt, NbdOption.REP_INFO, bs);
                }
                reply(out, opt, NbdOption.REP_ACK, new byte[0]);
                return true;
            }
            reply(out, opt, opt == NbdOption.STRUCTURED_REPLY.code ? NbdOption.REP_ACK : NbdOption.REP_ERR_UNSUP, new byte[0]);
        }
    }

    private static void reply(DataOutputStream out, int opt, int type, byte[] data) throws IOException {
        out.writeLong(NbdMagic.OPTION_REPLY);
        out.writeInt(opt);
        out.writeInt(type);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    static Request readRequest(DataInputStream in) throws IOException {
        if (in.readInt() != NbdMagic.REQUEST) throw new IOException("bad request magic");
        Request r = new Request(in.readUnsignedShort(), in.readUnsignedShort(), in.readLong(), in.readLong(), in.readInt());
        if (r.type() == NbdCommand.WRITE.code) in.readNBytes(r.length());
        return r;
    }

    /** Waits for the script to finish (or fail). */
    void awaitScript() throws Exception {
        done.get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws IOException {
        SocketChannel c = conn;
        if (c != null) c.close();
        server.close();
    }
}
