package io.vmmig.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.peer.SocketPeerChannel;
import io.vmmig.strategy.qemu.DestinationReport;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import io.vmmig.agent.vm.Descriptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Agent-to-agent control messages between two ControlLinks over a loopback TCP peer connection. */
class ControlLinkTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final List<AutoCloseable> toClose = new ArrayList<>();

    /** Two connected, not yet started channels: [0] the connecting side, [1] the accepting side. */
    private PeerChannel[] pair() throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            SocketPeerChannel client = SocketPeerChannel.connect(server.getLocalAddress());
            SocketPeerChannel accepted = new SocketPeerChannel(server.accept());
            toClose.add(client);
            toClose.add(accepted);
            return new PeerChannel[] {client, accepted};
        }
    }

    private ControlLink[] links() throws Exception {
        PeerChannel[] p = pair();
        ControlLink source = new ControlLink(p[0]);
        ControlLink destination = new ControlLink(p[1]);
        toClose.add(source);
        toClose.add(destination);
        return new ControlLink[] {source, destination};
    }

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : toClose) c.close();
    }

    /** 32 bytes, as TokenIssuer issues them. */
    static final String TOKEN = java.util.Base64.getEncoder().encodeToString(new byte[32]);

    @Test
    void everyMessageCrossesInOrder() throws Exception {
        ControlLink[] l = links();
        DestinationReport report = new DestinationReport(5L << 20, 3L << 20, 30, 18, 2, 41);
        PeerMessage.Prepare prepare = new PeerMessage.Prepare("m-1", "hybrid", 1 << 20, "disk0", "qcow2", 1L << 30, 200L << 20,
                "/var/lib/base.qcow2", "web1.qcow2", null, Descriptions.minimal("disk0").toJson(),
                "web1", "7.2.22");
        List<PeerMessage> toDestination = List.of(prepare, new PeerMessage.Cancel("operator"));
        List<PeerMessage> toSource = List.of(
                new PeerMessage.Prepared("/srv/images/web1.qcow2", TOKEN),
                new PeerMessage.Ready(45678, null, null, null, false),
                new PeerMessage.Ready(45679, 10809, null, "disk0", true),
                new PeerMessage.Progress(3L << 20, 30, 18, 5L << 20),
                new PeerMessage.Failed(ErrorKind.NO_SPACE, "no room"));
        for (PeerMessage m : toDestination) l[0].send(m);
        for (PeerMessage m : toSource) l[1].send(m);
        l[1].send(new PeerMessage.Finished(ControlCodec.tree(report)));
        for (PeerMessage m : toDestination) assertEquals(m, l[1].receive(WAIT));
        for (PeerMessage m : toSource) assertEquals(m, l[0].receive(WAIT));
        PeerMessage.Finished f = assertInstanceOf(PeerMessage.Finished.class, l[0].receive(WAIT));
        assertEquals(report, ControlCodec.mapper().treeToValue(f.report(), DestinationReport.class));
    }

    @Test
    void expectReturnsTheTypeOrThrowsTheFailureOrTheSurprise() throws Exception {
        ControlLink[] l = links();
        l[1].send(new PeerMessage.Prepared("/img", TOKEN));
        l[1].send(new PeerMessage.Failed(ErrorKind.UNAUTHORIZED, "client source-b is not allowed"));
        l[1].send(new PeerMessage.Progress(1, 1, 0, 0));
        assertEquals("/img", l[0].expect(PeerMessage.Prepared.class, WAIT).image());
        AgentException failed = assertThrows(AgentException.class, () -> l[0].expect(PeerMessage.Ready.class, WAIT));
        assertEquals(ErrorKind.UNAUTHORIZED, failed.kind());
        assertEquals("client source-b is not allowed", failed.getMessage());
        AgentException surprise = assertThrows(AgentException.class, () -> l[0].expect(PeerMessage.Ready.class, WAIT));
        assertEquals(ErrorKind.FAILED, surprise.kind());
        assertTrue(surprise.getMessage().contains("expected ready"), surprise.getMessage());
        assertTrue(surprise.getMessage().contains("got progress"), surprise.getMessage());
    }

    @Test
    void silenceIsUnreachableAfterTheTimeout() throws Exception {
        ControlLink[] l = links();
        AgentException e = assertThrows(AgentException.class, () -> l[0].receive(Duration.ofMillis(200)));
        assertEquals(ErrorKind.UNREACHABLE, e.kind());
        assertTrue(e.getMessage().startsWith("no word from "), e.getMessage());
    }

    @Test
    void closedLinkEndsEveryLaterReceive() throws Exception {
        ControlLink[] l = links();
        l[1].send(new PeerMessage.Cancel("bye"));
        l[1].close();
        assertEquals(new PeerMessage.Cancel("bye"), l[0].receive(WAIT), "what was sent before the close still arrives");
        for (int i = 0; i < 2; i++) {
            AgentException e = assertThrows(AgentException.class, () -> l[0].receive(WAIT));
            assertEquals(ErrorKind.UNREACHABLE, e.kind());
            assertTrue(e.getMessage().contains("closed the connection") || e.getMessage().contains("lost"), e.getMessage());
        }
        AgentException send = assertThrows(AgentException.class, () -> l[1].send(new PeerMessage.Cancel("again")));
        assertEquals(ErrorKind.UNREACHABLE, send.kind());
        l[1].trySend(new PeerMessage.Cancel("last words"));   // no exception
    }

    /** The peer's side is a bare channel here: it sends what a real agent never would. */
    private record Raw(ControlLink link, PeerChannel peer, LinkedBlockingQueue<Frame> received) { }

    private Raw raw() throws Exception {
        PeerChannel[] p = pair();
        ControlLink link = new ControlLink(p[0]);
        toClose.add(link);
        LinkedBlockingQueue<Frame> received = new LinkedBlockingQueue<>();
        p[1].start(new PeerChannel.Handler() {
            @Override public void onFrame(PeerChannel ch, Frame f) {
                received.add(f);
            }
        });
        return new Raw(link, p[1], received);
    }

    @Test
    void messagesAreControlFramesOfJson() throws Exception {
        Raw r = raw();
        r.link().send(new PeerMessage.Cancel("operator"));
        Frame f = r.received().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        Frame.Control c = assertInstanceOf(Frame.Control.class, f);
        assertEquals("{\"type\":\"cancel\",\"reason\":\"operator\"}", c.json());
        r.peer().send(new Frame.Control("{\"type\":\"ready\",\"memoryPort\":4444,\"futureField\":true}"));
        assertEquals(new PeerMessage.Ready(4444, null, null, null, null), r.link().receive(WAIT), "unknown fields are ignored");
    }

    @Test
    void errorFrameEndsTheLinkWithThePeersWords() throws Exception {
        Raw r = raw();
        r.peer().send(new Frame.Error(Frame.Error.UNAUTHORIZED, "token refused"));
        AgentException e = assertThrows(AgentException.class, () -> r.link().receive(WAIT));
        assertEquals(ErrorKind.UNREACHABLE, e.kind());
        assertTrue(e.getMessage().endsWith("reported: token refused"), e.getMessage());
    }

    @Test
    void unreadableMessageOrForeignFrameEndsTheLink() throws Exception {
        Raw bad = raw();
        bad.peer().send(new Frame.Control("{\"type\":\"teleport\"}"));
        AgentException e = assertThrows(AgentException.class, () -> bad.link().receive(WAIT));
        assertTrue(e.getMessage().startsWith("unreadable control message from "), e.getMessage());
        assertTrue(e.getMessage().contains("teleport"), e.getMessage());

        Raw foreign = raw();
        foreign.peer().send(new Frame.Ack(0, 4096));
        AgentException f = assertThrows(AgentException.class, () -> foreign.link().receive(WAIT));
        assertTrue(f.getMessage().startsWith("unexpected ACK frame on the control connection"), f.getMessage());
        assertTrue(foreign.peer().closed().handle((v, t) -> true).get(WAIT.toMillis(), TimeUnit.MILLISECONDS),
                "the link closes the connection");
    }

    @Test
    void anInvalidMessageEndsTheLinkAndThePeerIsToldWhy() throws Exception {
        Raw r = raw();
        r.peer().send(new Frame.Control("{\"type\":\"prepare\",\"id\":\"../../../tmp/x\"}"));
        AgentException e = assertThrows(AgentException.class, () -> r.link().receive(WAIT));
        assertEquals(ErrorKind.BAD_REQUEST, e.kind());
        assertTrue(e.getMessage().startsWith("invalid prepare from the peer: id '../../../tmp/x' is not a migration id"), e.getMessage());
        Frame.Control told = assertInstanceOf(Frame.Control.class, r.received().poll(WAIT.toMillis(), TimeUnit.MILLISECONDS));
        PeerMessage.Failed f = assertInstanceOf(PeerMessage.Failed.class, ControlCodec.mapper().readValue(told.json(), PeerMessage.class));
        assertEquals(ErrorKind.BAD_REQUEST, f.kind());
        assertTrue(f.message().contains("id '../../../tmp/x' is not a migration id"), f.message());

        Raw socket = raw();
        socket.peer().send(new Frame.Control("{\"type\":\"ready\",\"memoryPort\":4444,\"mirrorSocket\":\"/run/x.sock\"}"));
        AgentException s = assertThrows(AgentException.class, () -> socket.link().receive(WAIT));
        assertTrue(s.getMessage().startsWith("invalid ready from the peer: mirrorSocket"), s.getMessage());

        Raw nothing = raw();
        nothing.peer().send(new Frame.Control("null"));
        AgentException n = assertThrows(AgentException.class, () -> nothing.link().receive(WAIT));
        assertEquals(ErrorKind.BAD_REQUEST, n.kind());
    }
}
