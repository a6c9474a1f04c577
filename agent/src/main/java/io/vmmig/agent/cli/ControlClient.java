package io.vmmig.agent.cli;

import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One connection to the local agent's control socket: send one request, then read its events (JSON lines)
 * until a terminal one. {@link #next(Instant)} waits up to a deadline and can be woken from another thread
 * with {@link #wakeup()} (Ctrl-C). Every failure is a {@link ControlClientException} naming the socket.
 */
public final class ControlClient implements AutoCloseable {
    /** How long a one-answer request ({@code status}, {@code list}, {@code cancel}) waits for its answer. */
    public static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);

    private static final int MAX_LINE_BYTES = 4 * ControlCodec.MAX_LINE;

    private final Path socket;
    private final SocketChannel channel;
    private final Selector selector;
    private final ByteBuffer readBuffer = ByteBuffer.allocate(64 * 1024);
    private final AtomicBoolean woken = new AtomicBoolean();
    private byte[] pending = new byte[8 * 1024];
    private int pendingLength;
    private int scanned;
    private boolean eof;

    private ControlClient(Path socket, SocketChannel channel, Selector selector) {
        this.socket = socket;
        this.channel = channel;
        this.selector = selector;
    }

    /** Connects to the agent's control socket. */
    public static ControlClient connect(Path socket) {
        SocketChannel channel = null;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(socket));
            Selector selector = Selector.open();
            return new ControlClient(socket, channel, selector);
        } catch (IOException e) {
            closeQuietly(channel);
            throw connectFailure(socket, e);
        }
    }

    /** Sends one request, an exchange's only one: connect, {@link #send}, then one event before {@code timeout}. */
    public static ReceivedEvent ask(Path socket, ControlRequest request, Duration timeout) {
        try (ControlClient client = connect(socket)) {
            client.send(request);
            ReceivedEvent answer;
            do {
                answer = client.next(Instant.now().plus(timeout));
            } while (answer == null);
            return answer;
        }
    }

    /** What a failed connect means for the user: no agent, a stale socket, or not root. */
    static ControlClientException connectFailure(Path socket, IOException e) {
        String message = String.valueOf(e.getMessage());
        if (message.contains("Permission denied") || message.contains("Operation not permitted")) {
            return new ControlClientException(ErrorKind.UNREACHABLE, "cannot connect to the vmmig agent at " + socket
                    + ": permission denied (" + whoMay(socket) + ")", e);
        }
        if (message.contains("No such file") || !Files.exists(socket)) {
            return new ControlClientException(ErrorKind.UNREACHABLE,
                    "no vmmig agent at " + socket + ": is `vmmig agent` running?", e);
        }
        if (e instanceof ConnectException || message.contains("Connection refused")) {
            return new ControlClientException(ErrorKind.UNREACHABLE, "no vmmig agent at " + socket
                    + ": the socket exists but nothing accepts connections on it (connection refused): is `vmmig agent` running?", e);
        }
        return new ControlClientException(ErrorKind.UNREACHABLE, "cannot connect to the vmmig agent at " + socket + ": " + message, e);
    }

    /** Who the socket's mode lets in, for the permission-denied message. */
    static String whoMay(Path socket) {
        try {
            java.nio.file.attribute.PosixFileAttributes a = Files.readAttributes(socket, java.nio.file.attribute.PosixFileAttributes.class);
            if (a.permissions().contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE))
                return "the control socket is for root and the members of group " + a.group().getName()
                        + " (the agent's control-socket.group): run vmmig as root or as a member of " + a.group().getName();
        } catch (IOException | RuntimeException e) {
            // the directory may be closed to us too: the default holds
        }
        return "the control socket is root-only: vmmig needs root, or the agent's control-socket.group for a group of users";
    }

    /** The socket this client talks to. */
    public Path socket() {
        return socket;
    }

    /** Writes one request as one JSON line. */
    public void send(ControlRequest request) {
        ByteBuffer line = ByteBuffer.wrap((ControlCodec.encode(request) + "\n").getBytes(StandardCharsets.UTF_8));
        try {
            while (line.hasRemaining()) channel.write(line);
        } catch (IOException e) {
            ControlEvent.Failure said = lastWords();   // an agent that refused us said why before it closed
            if (said != null) throw new ControlClientException(said.kind(), said.message(), e);
            throw wentAway("while sending the " + request.op().name().toLowerCase(java.util.Locale.ROOT) + " request (" + e.getMessage() + ")", e);
        }
    }

    /**
     * The next event, waiting until {@code deadline} (null: no limit); null if {@link #wakeup()} was called
     * before one came.
     *
     * @throws ControlClientException the agent closed the connection, sent a line that is not an event, or
     *                                sent nothing before the deadline ({@link ControlTimeoutException})
     */
    public ReceivedEvent next(Instant deadline) {
        try {
            if (channel.isBlocking()) {
                channel.configureBlocking(false);
                channel.register(selector, SelectionKey.OP_READ);
            }
            while (true) {
                byte[] line = takeLine();
                if (line != null) return decode(line);
                if (eof) {
                    throw wentAway(pendingLength > 0 ? "in the middle of a line" : "before a final event", null);
                }
                long waitMillis = 0;
                if (deadline != null) {
                    waitMillis = Duration.between(Instant.now(), deadline).toMillis();
                    if (waitMillis <= 0) {
                        throw new ControlTimeoutException("the vmmig agent at " + socket + " did not answer in time");
                    }
                }
                selector.select(waitMillis);
                selector.selectedKeys().clear();
                if (woken.getAndSet(false)) return null;
                readAvailable();
            }
        } catch (IOException e) {
            throw wentAway("(" + e.getMessage() + ")", e);
        }
    }

    /** Makes a {@link #next} call in another thread return null now (or the next one, if none is waiting). */
    public void wakeup() {
        woken.set(true);
        selector.wakeup();
    }

    @Override
    public void close() {
        closeQuietly(selector);
        closeQuietly(channel);
    }

    /** A failure line the agent sent before it closed the connection, if one is there to read; else null. */
    private ControlEvent.Failure lastWords() {
        try {
            channel.configureBlocking(false);
            readAvailable();
            byte[] line = takeLine();
            return line != null && decode(line).event() instanceof ControlEvent.Failure f ? f : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private void readAvailable() throws IOException {
        while (true) {
            readBuffer.clear();
            int n;
            try {
                n = channel.read(readBuffer);
            } catch (IOException e) {
                if (pendingLength == 0) throw e;
                eof = true;   // reset after what the agent sent (it closed with our bytes unread): read that first
                return;
            }
            if (n < 0) {
                eof = true;
                return;
            }
            if (n == 0) return;
            if (pendingLength + n > pending.length) {
                pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + n));
            }
            System.arraycopy(readBuffer.array(), 0, pending, pendingLength, n);
            pendingLength += n;
            if (pendingLength > MAX_LINE_BYTES && indexOfNewline() < 0) {
                throw new ControlClientException(ErrorKind.UNREACHABLE, "the vmmig agent at " + socket
                        + " sent a line longer than " + MAX_LINE_BYTES + " bytes");
            }
        }
    }

    private int indexOfNewline() {
        for (int i = scanned; i < pendingLength; i++) {
            if (pending[i] == '\n') return i;
        }
        scanned = pendingLength;
        return -1;
    }

    private byte[] takeLine() {
        while (true) {
            int nl = indexOfNewline();
            if (nl < 0) return null;
            byte[] line = Arrays.copyOf(pending, nl);
            System.arraycopy(pending, nl + 1, pending, 0, pendingLength - nl - 1);
            pendingLength -= nl + 1;
            scanned = 0;
            if (line.length > 0) return line;
        }
    }

    private ReceivedEvent decode(byte[] raw) {
        int length = raw.length > 0 && raw[raw.length - 1] == '\r' ? raw.length - 1 : raw.length;
        String text = new String(raw, 0, length, StandardCharsets.UTF_8);
        try {
            ControlEvent event = ControlCodec.decodeEvent(text);
            if (event == null) throw new IllegalArgumentException("not a JSON object: " + text);
            return new ReceivedEvent(raw, event);
        } catch (IllegalArgumentException e) {
            throw new ControlClientException(ErrorKind.UNREACHABLE,
                    "the vmmig agent at " + socket + " sent something this client cannot read: " + e.getMessage(), e);
        }
    }

    private ControlClientException wentAway(String when, Throwable cause) {
        return new ControlClientException(ErrorKind.UNREACHABLE,
                "the vmmig agent went away: it closed the connection on " + socket + " " + when, cause);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (Exception ignored) {
            // nothing left to do with it
        }
    }
}
