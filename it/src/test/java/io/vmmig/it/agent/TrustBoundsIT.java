package io.vmmig.it.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.agent.peer.PeerConnector;
import io.vmmig.agent.peer.PeerTls;
import io.vmmig.agent.peer.PeerTransportOptions;
import io.vmmig.agent.peer.PeerUnauthorizedException;
import io.vmmig.agent.session.ControlLink;
import io.vmmig.agent.session.PeerMessage;
import io.vmmig.it.migration.Poll;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.FrameEncoder;
import io.vmmig.strategy.peer.FrameType;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.testkit.pki.TestPki;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a peer holding a valid certificate (host-a's, from the agents' CA) can make a real destination
 * agent hold or do (agent/README-peer.md, "Bounds" and "Values from a peer"): 50 connections each
 * declaring a 32 MiB frame and trickling its bytes, before and after authorisation, leave its resident
 * memory within a small bound; 1000 idle connections do not make threads, do not lock a real source
 * out, and are closed by the handshake deadline; a forged traversal id, negative and huge sizes and an
 * all-null PREPARE are each refused with a clear error, nothing created outside the state directory.
 */
class TrustBoundsIT {
    @TempDir
    static Path dir;
    static TestPki pki;
    static AgentProcess b;
    static EventLoopGroup group;
    static SslContext rawTls;
    static final Duration WAIT = Duration.ofSeconds(30);

    @BeforeAll
    static void agent() throws Exception {
        pki = AgentHosts.pki(dir);
        b = AgentHosts.agent(dir, pki, "b", "host-b", List.of());
        group = new NioEventLoopGroup(1);
        rawTls = SslContextBuilder.forClient().keyManager(pki.cert("host-a").toFile(), pki.key("host-a").toFile())
                .trustManager(InsecureTrustManagerFactory.INSTANCE).protocols("TLSv1.3").build();
    }

    @AfterAll
    static void stop() {
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        if (b != null) b.close();
    }

    private static long status(String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + b.pid() + "/status")))
            if (l.startsWith(field + ":")) return Long.parseLong(l.substring(field.length() + 1).trim().split("\\s+")[0]);
        throw new IllegalStateException("no " + field + " in /proc/" + b.pid() + "/status");
    }

    private static long rssKib() throws IOException {
        return status("VmRSS");
    }

    private static int threads() throws IOException {
        return (int) status("Threads");
    }

    /** A TLS connection as host-a, bytes in and out by hand: what a hostile source with a valid certificate sends. */
    static final class RawPeer {
        final Channel channel;
        final CompletableFuture<Void> handshake = new CompletableFuture<>();
        final ByteBuf received = Unpooled.buffer();
        final CompletableFuture<Void> closed = new CompletableFuture<>();

        RawPeer(Channel channel) {
            this.channel = channel;
        }

        static RawPeer open(String fromHost) {
            return open(fromHost, p -> { });
        }

        /** @param onHandshake run on the connection's I/O thread as soon as its TLS handshake is done */
        static RawPeer open(String fromHost, java.util.function.Consumer<RawPeer> onHandshake) {
            RawPeer[] self = new RawPeer[1];
            Bootstrap bs = new Bootstrap().group(group).channel(NioSocketChannel.class).handler(new ChannelInitializer<SocketChannel>() {
                @Override protected void initChannel(SocketChannel ch) {
                    ch.pipeline().addLast(rawTls.newHandler(ch.alloc(), "127.0.0.1", b.port));
                    ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                        @Override public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                            if (evt instanceof SslHandshakeCompletionEvent e) {
                                if (e.isSuccess()) {
                                    onHandshake.accept(self[0]);
                                    self[0].handshake.complete(null);
                                }
                                else self[0].handshake.completeExceptionally(e.cause());
                            }
                        }

                        @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ByteBuf in = (ByteBuf) msg;
                            synchronized (self[0].received) {
                                self[0].received.writeBytes(in);
                            }
                            in.release();
                        }

                        @Override public void channelInactive(ChannelHandlerContext ctx) {
                            self[0].closed.complete(null);
                            self[0].handshake.completeExceptionally(new IOException("closed"));
                        }

                        @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
                            ctx.close();
                        }
                    });
                }
            });
            if (fromHost != null) bs.localAddress(new InetSocketAddress(fromHost, 0));
            io.netty.channel.ChannelFuture f = bs.connect("127.0.0.1", b.port);
            self[0] = new RawPeer(f.channel());
            f.syncUninterruptibly();
            return self[0];
        }

        void write(ByteBuffer b) {
            channel.writeAndFlush(Unpooled.wrappedBuffer(b));
        }

        int receivedBytes() {
            synchronized (received) {
                return received.readableBytes();
            }
        }

        String receivedText() {
            synchronized (received) {
                return received.toString(java.nio.charset.StandardCharsets.UTF_8);
            }
        }
    }

    /** A frame header declaring {@code length} bytes of a {@code type} frame (the bytes are trickled after it). */
    private static ByteBuffer header(int length, int type) {
        return ByteBuffer.allocate(8).putInt(length).put((byte) type).put((byte) 0).putShort((short) 0).flip();
    }

    @Test
    void fiftyConnectionsDeclaring32MiBFramesLeaveMemoryBounded() throws Exception {
        long before = rssKib();
        // before authorisation: a HELLO declaring 32 MiB is refused at its length field
        List<RawPeer> preAuth = new ArrayList<>();
        List<RawPeer> authorised = new ArrayList<>();
        try {
        // from five addresses: one host may have at most 32 connections not yet authorised (PeerListenerLimits)
        for (int i = 0; i < 50; i++)
            preAuth.add(RawPeer.open(flooder(i), p -> {
                p.write(header(32 << 20, FrameType.HELLO.code));
                for (int k = 0; k < 4; k++) p.write(ByteBuffer.allocate(1024));   // the first bytes of the trickle
            }));
        for (RawPeer p : preAuth) p.closed.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        // each is refused at its length field (or, on a machine so loaded that the TLS handshake took most of the 10 s, at
        // the HELLO deadline): the agent says so in its log; the client sees the ERROR frame unless the rest of its trickle,
        // arriving after the close, made the agent's kernel reset the connection first
        Poll.until("the agent to log 50 refusals", WAIT, () -> b.logText().lines().filter(l -> l.contains("refused 127.0.1.")
                && (l.contains("frame length 33554432 outside 4..65536") || l.contains("no HELLO within 10000 ms"))).count() >= 50);
        long atLength = b.logText().lines().filter(l -> l.contains("refused 127.0.1.") && l.contains("frame length 33554432")).count();
        long toldClient = preAuth.stream().filter(p -> p.receivedText().contains("frame length 33554432 outside 4..65536")).count();
        System.out.printf("TrustBoundsIT: 50 HELLOs declaring 32 MiB: %d refused at their length field, %d at the HELLO deadline;"
                + " %d clients read the ERROR frame before the close%n", atLength, 50 - atLength, toldClient);
        long afterPreAuth = rssKib();

        // after authorisation (a control connection needs only the certificate): the frame's buffer grows with its bytes
        for (int i = 0; i < 50; i++) authorised.add(RawPeer.open(flooder(i)));
        for (RawPeer p : authorised) {
            p.handshake.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            p.write(new FrameEncoder().encode(new Frame.Hello(Frame.PROTOCOL_VERSION, "", new byte[0])));
        }
        for (RawPeer p : authorised) Poll.until("WELCOME", WAIT, () -> p.receivedBytes() >= 10);
        int trickled = 256 << 10;
        for (RawPeer p : authorised) p.write(header(32 << 20, FrameType.CONTROL.code));
        for (int sent = 0; sent < trickled; sent += 16 << 10)
            for (RawPeer p : authorised) p.write(ByteBuffer.wrap(new byte[16 << 10]));
        for (RawPeer p : authorised) p.channel.writeAndFlush(Unpooled.EMPTY_BUFFER).syncUninterruptibly();
        // a probe answered after the trickle: the agent's I/O threads have been through the readable connections
        AgentException probe = prepare("m-probe0001", -1, 256 << 10);
        assertTrue(probe.getMessage().contains("virtualSize -1"), probe.getMessage());
        long peak = rssKib();
        System.out.printf("TrustBoundsIT: agent RSS %d MiB before, %d MiB after 50 refused 32 MiB HELLOs, %d MiB with 50 authorised"
                + " connections each %d KiB into a declared 32 MiB frame (+%d MiB; 50 x 32 MiB = 1600 MiB if allocated by the length"
                + " field)%n", before >> 10, afterPreAuth >> 10, peak >> 10, trickled >> 10, (peak - before) >> 10);
        assertTrue(afterPreAuth - before < 100 << 10, "RSS grew " + ((afterPreAuth - before) >> 10) + " MiB before authorisation");
        assertTrue(peak - before < 100 << 10, "RSS grew " + ((peak - before) >> 10) + " MiB");
        assertTrue(b.alive());
        } finally {
            for (RawPeer p : preAuth) p.channel.close();
            for (RawPeer p : authorised) p.channel.close();
        }
    }

    /** The source address of hostile connection {@code i}: 127.0.1.1 to 127.0.1.5. */
    private static String flooder(int i) {
        return "127.0.1." + (1 + i % 5);
    }

    @Test
    void aThousandIdleConnectionsMakeNoThreadsAndLockNobodyOut() throws Exception {
        int threadsBefore = threads();
        List<java.nio.channels.SocketChannel> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 1000; i++) {
                java.nio.channels.SocketChannel s = java.nio.channels.SocketChannel.open();
                s.bind(new InetSocketAddress("127.0.0.2", 0));   // the flood's host; the real source below is 127.0.0.1
                s.connect(new InetSocketAddress("127.0.0.1", b.port));
                idle.add(s);
            }
            int threadsDuring = threads();
            System.out.printf("TrustBoundsIT: agent threads %d before, %d with 1000 idle peer connections open%n", threadsBefore,
                    threadsDuring);
            assertTrue(threadsDuring - threadsBefore < 20, "threads " + threadsBefore + " -> " + threadsDuring);
            // a real source still gets in, and is served, meanwhile
            AgentException e = prepare("m-flood0001", -1, 256 << 10);
            assertTrue(e.getMessage().contains("virtualSize -1 is not a positive size"), e.getMessage());
            // every idle connection is closed by the agent: at once over the limits, the rest at the handshake deadline
            long start = System.nanoTime();
            int open = awaitClosedByAgent(idle, Duration.ofSeconds(30));
            System.out.printf("TrustBoundsIT: the agent closed all 1000 idle connections within %.1f s%n", (System.nanoTime() - start) / 1e9);
            assertEquals(0, open, "idle connections the agent left open");
            assertTrue(b.logText().contains("peer connection from /127.0.0.2"), () -> "the refusals are logged (once per 1000):\n"
                    + b.logTail());
        } finally {
            for (java.nio.channels.SocketChannel s : idle) s.close();
        }
    }

    /** Waits (on a selector) until the agent closed every socket (EOF or reset); returns how many it left open. */
    private static int awaitClosedByAgent(List<java.nio.channels.SocketChannel> sockets, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int open = sockets.size();
        ByteBuffer b = ByteBuffer.allocate(4096);
        try (java.nio.channels.Selector sel = java.nio.channels.Selector.open()) {
            for (java.nio.channels.SocketChannel s : sockets) {
                s.configureBlocking(false);
                s.register(sel, java.nio.channels.SelectionKey.OP_READ);
            }
            while (open > 0 && System.nanoTime() < deadline) {
                sel.select(500);
                for (java.nio.channels.SelectionKey k : sel.selectedKeys()) {
                    java.nio.channels.SocketChannel s = (java.nio.channels.SocketChannel) k.channel();
                    int n;
                    try {
                        while ((n = s.read(b.clear())) > 0) { /* drain */ }
                    } catch (IOException reset) {
                        n = -1;
                    }
                    if (n < 0) {
                        k.cancel();
                        open--;
                    }
                }
                sel.selectedKeys().clear();
            }
        }
        return open;
    }

    private static AgentException prepare(String id, long size, int chunk) throws Exception {
        return prepare(new PeerMessage.Prepare(id, "hybrid", chunk, "disk0", "qcow2", size, 1L << 20, null, "bounds.qcow2", null,
                Descriptions.minimalJson("disk0"), "bounds", "7.2.0"));
    }

    private static AgentException prepare(PeerMessage.Prepare p) throws Exception {
        PeerTls asA = PeerTls.client(pki.key("host-a"), pki.cert("host-a"), pki.cert("ca"));
        try (PeerConnector a = PeerConnector.tls(asA, PeerTransportOptions.DEFAULT);
             ControlLink link = new ControlLink(a.connect("127.0.0.1", b.port, "", new byte[0], WAIT))) {
            link.send(p);
            return assertThrows(AgentException.class, () -> link.expect(PeerMessage.Prepared.class, WAIT));
        }
    }

    @Test
    void forgedValuesAreRefusedAndNothingIsCreatedOutsideTheStateDir() throws Exception {
        Path outside = Path.of("/tmp/x");
        boolean existedBefore = Files.exists(outside);
        AgentException traversal = prepare("../../../tmp/x", 64L << 20, 256 << 10);
        assertEquals(ErrorKind.BAD_REQUEST, traversal.kind());
        assertTrue(traversal.getMessage().contains("invalid prepare from the peer: id '../../../tmp/x' is not a migration id"),
                traversal.getMessage());
        assertEquals(existedBefore, Files.exists(outside), "/tmp/x created");
        AgentException near = prepare("../../escaped", 64L << 20, 256 << 10);
        assertEquals(ErrorKind.BAD_REQUEST, near.kind());
        assertFalse(Files.exists(dir.resolve("b/escaped")));
        assertFalse(Files.exists(dir.resolve("b/state/m/../../escaped")));

        AgentException negative = prepare("m-bounds01", -1, 256 << 10);
        assertTrue(negative.getMessage().contains("virtualSize -1 is not a positive size"), negative.getMessage());
        AgentException huge = prepare("m-bounds02", Long.MAX_VALUE, 256 << 10);
        assertTrue(huge.getMessage().contains("virtualSize 9223372036854775807 bytes is over the largest disk"), huge.getMessage());
        AgentException chunk = prepare("m-bounds03", 64L << 20, -65536);
        assertTrue(chunk.getMessage().contains("chunkSize -65536 is not a power of two"), chunk.getMessage());

        // an all-null PREPARE, as raw JSON
        PeerTls asA = PeerTls.client(pki.key("host-a"), pki.cert("host-a"), pki.cert("ca"));
        try (PeerConnector a = PeerConnector.tls(asA, PeerTransportOptions.DEFAULT)) {
            PeerChannel ch = a.connect("127.0.0.1", b.port, "", new byte[0], WAIT);
            try (ControlLink link = new ControlLink(ch)) {
                ch.send(new Frame.Control("{\"type\":\"prepare\",\"id\":null,\"strategy\":null,\"chunkSize\":null,\"diskNode\":null,"
                        + "\"format\":null,\"virtualSize\":null,\"allocatedBytes\":null,\"imageName\":null,\"description\":null,\"vm\":null}"));
                AgentException allNull = assertThrows(AgentException.class, () -> link.expect(PeerMessage.Prepared.class, WAIT));
                assertEquals(ErrorKind.BAD_REQUEST, allNull.kind());
                assertTrue(allNull.getMessage().startsWith("invalid prepare from the peer: id is missing"), allNull.getMessage());
            }
            // a data connection's HELLO with a forged id is refused by the authorizer
            PeerUnauthorizedException hello = assertThrows(PeerUnauthorizedException.class,
                    () -> a.connect("127.0.0.1", b.port, "../../../tmp/x", new byte[32], WAIT));
            assertTrue(hello.getMessage().contains("is not a migration id"), hello.getMessage());
        }

        assertFalse(b.logText().contains("NullPointerException"), "no NPE in the agent's log");
        assertTrue(b.alive());
        try (Stream<Path> images = Files.list(dir.resolve("b/images"))) {
            assertEquals(List.of(), images.toList(), "no image created (qemu-img never ran)");
        }
        Path m = dir.resolve("b/state/m");
        if (Files.exists(m)) {
            try (Stream<Path> dirs = Files.list(m)) {
                assertEquals(List.of(), dirs.toList(), "no migration directory");
            }
        }
        try (Stream<Path> top = Files.list(dir.resolve("b"))) {
            assertEquals(List.of("agent.log", "control.sock", "images", "state", "vmmig.conf"),
                    top.map(p -> p.getFileName().toString()).sorted().toList(), "nothing beside the agent's own files");
        }
    }
}
