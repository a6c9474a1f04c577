package io.vmmig.agent.session;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import io.vmmig.strategy.peer.Frame;
import io.vmmig.strategy.peer.PeerChannel;
import io.vmmig.strategy.peer.PeerChannelClosedException;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The control connection between two agents: {@link PeerMessage}s in CONTROL frames over a peer
 * channel. Received messages queue up in order; a closed or broken channel, or an ERROR frame, ends
 * the queue with that reason.
 */
public final class ControlLink implements AutoCloseable {
    private sealed interface Item permits Message, End { }
    private record Message(PeerMessage message) implements Item { }
    private record End(ErrorKind kind, String reason) implements Item {
        End(String reason) {
            this(ErrorKind.UNREACHABLE, reason);
        }
    }

    private final PeerChannel channel;
    private final BlockingQueue<Item> inbox = new LinkedBlockingQueue<>();

    public ControlLink(PeerChannel channel) {
        this.channel = channel;
        channel.start(new PeerChannel.Handler() {
            @Override public void onFrame(PeerChannel ch, Frame frame) {
                if (frame instanceof Frame.Control c) {
                    PeerMessage m;
                    try {
                        m = ControlCodec.mapper().readValue(c.json(), PeerMessage.class);
                        PeerValues.check(m);
                    } catch (JsonProcessingException e) {
                        refuse(ch, "unreadable control message from " + ch.remote() + ": " + e.getOriginalMessage());
                        return;
                    } catch (AgentException e) {
                        refuse(ch, e.getMessage() + " (" + ch.remote() + ")");
                        return;
                    }
                    inbox.add(new Message(m));
                } else if (frame instanceof Frame.Error e) {
                    inbox.add(new End(ch.remote() + " reported: " + e.message()));
                } else {
                    inbox.add(new End("unexpected " + frame.type() + " frame on the control connection from " + ch.remote()));
                    ch.close();
                }
            }

            @Override public void onClosed(PeerChannel ch, Throwable cause) {
                inbox.add(new End(cause == null ? "control connection closed" : "connection to " + ch.remote() + " lost: " + cause.getMessage()));
            }
        });
    }

    /** A message that is not valid ends the link: the peer is told why (BAD_REQUEST), and so is our side. */
    private void refuse(PeerChannel ch, String why) {
        inbox.add(new End(ErrorKind.BAD_REQUEST, why));
        ch.offer(new Frame.Control(ControlCodec.encode(new PeerMessage.Failed(ErrorKind.BAD_REQUEST, why))));
        ch.close();
    }

    public String remote() {
        return channel.remote();
    }

    public void send(PeerMessage m) throws AgentException {
        try {
            channel.send(new Frame.Control(ControlCodec.encode(m)));
        } catch (PeerChannelClosedException e) {
            throw new AgentException(ErrorKind.UNREACHABLE, "control connection to " + channel.remote() + " lost: " + e.getMessage(), e);
        }
    }

    /** Sends, ignoring a closed channel (for last words on the way out). */
    public void trySend(PeerMessage m) {
        channel.offer(new Frame.Control(ControlCodec.encode(m)));   // never waits: the link may be what failed
    }

    /**
     * The next message, within {@code timeout}.
     *
     * @throws AgentException UNREACHABLE when the link ended or the time passed
     */
    public PeerMessage receive(Duration timeout) throws AgentException, InterruptedException {
        Item i = inbox.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (i == null) throw new AgentException(ErrorKind.UNREACHABLE, "no word from " + channel.remote() + " within " + timeout.toSeconds() + " s");
        if (i instanceof End e) {
            inbox.add(e);   // every later receive sees the end too
            throw new AgentException(e.kind(), e.reason());
        }
        return ((Message) i).message();
    }

    /** Receives the next message, which must be of {@code type} or {@link PeerMessage.Failed} (thrown as its kind). */
    public <T extends PeerMessage> T expect(Class<T> type, Duration timeout) throws AgentException, InterruptedException {
        PeerMessage m = receive(timeout);
        if (type.isInstance(m)) return type.cast(m);
        if (m instanceof PeerMessage.Failed f) throw new AgentException(f.kind(), f.message());
        throw new AgentException(ErrorKind.FAILED, "expected " + type.getSimpleName().toLowerCase() + " from " + channel.remote()
                + ", got " + m.getClass().getSimpleName().toLowerCase());
    }

    @Override
    public void close() {
        channel.close();
    }
}
