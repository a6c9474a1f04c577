package io.vmmig.agent.daemon;

import io.vmmig.agent.config.ControlSocketOptions;
import io.vmmig.agent.control.ControlCodec;
import io.vmmig.agent.control.ControlEvent;
import io.vmmig.agent.control.ControlRequest;
import io.vmmig.agent.control.ErrorKind;
import java.io.IOException;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's control socket: a UNIX socket, one JSON-line request per connection, JSON-line events back
 * until a terminal one. A client that goes away mid-stream only stops watching.
 * <ul>
 * <li>Who: each connection's caller is the kernel's ({@code SO_PEERCRED}); {@link ControlAccess} decides
 *     (mode 0600 root only, or 0660 with {@code control-socket.group}); a refused caller gets one failure
 *     line naming why in answer to its request (never reaching the handler), and the audit log a line.</li>
 * <li>How many: one selector thread accepts and reads request lines; a connection gets a thread of its
 *     own only once its whole request line arrived. At most {@code max-connections} are open (waiting or
 *     served): one more is answered "too many" and closed. A connection that sends no request line within
 *     {@code idle-timeout} is closed. So idle connections cost a file descriptor each, never a thread.</li>
 * <li>Where: it binds only where nothing is or over a dead agent's socket ({@link ControlSocketFile}), and on
 *     close removes the socket only if it is still the one it bound.</li>
 * </ul>
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlServer.class);

    /** Serves one request of {@code caller}, writing events to {@code out} (which throws once the client is gone). */
    public interface Handler {
        void handle(ControlCaller caller, ControlRequest request, EventSink out) throws InterruptedException;
    }

    /** Where a request's events go; {@link #send} throws {@link ClientGoneException} once the client left. */
    public interface EventSink {
        void send(ControlEvent e);
    }

    /** The client closed its connection. */
    public static final class ClientGoneException extends RuntimeException {
        ClientGoneException(String message) {
            super(message);
        }
    }

    /** A connection accepted and waiting for its request line. */
    private static final class Pending {
        final SocketChannel channel;
        final ControlCaller caller;
        /** Why the caller is refused (answered once its request arrived, so it reads the answer), or null. */
        final String refusal;
        final long deadline;
        ByteBuffer line = ByteBuffer.allocate(512);

        Pending(SocketChannel channel, ControlCaller caller, String refusal, long deadline) {
            this.channel = channel;
            this.caller = caller;
            this.refusal = refusal;
            this.deadline = deadline;
        }
    }

    private final Path path;
    private final Object fileKey;
    private final ServerSocketChannel server;
    private final Selector selector;
    private final ControlAccess access;
    private final ControlSocketOptions options;
    private final Handler handler;
    private final Thread loop;
    /** Connections open: waiting for their request (in {@link #pending}) or being served. */
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger served = new AtomicInteger();
    /** In accept order, hence in deadline order; only the selector thread touches it. */
    private final LinkedHashSet<Pending> pending = new LinkedHashSet<>();
    private volatile boolean closed;

    private ControlServer(Path path, Object fileKey, ServerSocketChannel server, Selector selector, ControlAccess access,
                          ControlSocketOptions options, Handler handler) {
        this.path = path;
        this.fileKey = fileKey;
        this.server = server;
        this.selector = selector;
        this.access = access;
        this.options = options;
        this.handler = handler;
        this.loop = new Thread(this::selectLoop, "vmmig-control");
        this.loop.setDaemon(true);
    }

    /** Root only, the default bounds. */
    public static ControlServer start(Path path, Handler handler) throws AgentException {
        return start(path, ControlSocketOptions.defaults(), LocalAccounts.system(), handler);
    }

    public static ControlServer start(Path path, ControlSocketOptions options, LocalAccounts accounts, Handler handler)
            throws AgentException {
        ControlAccess access = new ControlAccess(path, options.group(), accounts);
        ServerSocketChannel server = null;
        try {
            Files.createDirectories(path.getParent());
            String problem = ControlSocketFile.problem(path);
            if (problem != null) throw new AgentMisconfigured(problem, null);
            if (ControlSocketFile.at(path) == ControlSocketFile.SOCKET) {
                try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
                    throw new AgentException(ErrorKind.ENVIRONMENT, "another vmmig agent already serves " + path);
                } catch (IOException stale) {
                    // a socket left by an agent that died: a socket is what we may replace, nothing else
                    if (ControlSocketFile.at(path) == ControlSocketFile.SOCKET) Files.delete(path);
                }
            }
            GroupPrincipal g = null;
            if (options.group() != null) {
                try {
                    g = path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(options.group());
                } catch (IOException e) {
                    throw new AgentMisconfigured("control-socket.group = " + options.group() + ": no such group", e);
                }
            }
            server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(path), 128);
            if (g != null) {
                Files.getFileAttributeView(path, PosixFileAttributeView.class).setGroup(g);   // chown(2) of the socket just bound
            }
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(access.mode()));
            Object key = Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            server.configureBlocking(false);
            Selector selector = Selector.open();
            server.register(selector, SelectionKey.OP_ACCEPT);
            ControlServer s = new ControlServer(path, key, server, selector, access, options, handler);
            s.loop.start();
            LOG.info("control socket {} (mode {}; at most {} connections, {} s to send a request)", path,
                    options.group() == null ? "0600, root only" : "0660, group " + options.group(),
                    options.maxConnections(), options.idleTimeout().toSeconds());
            return s;
        } catch (IOException e) {
            unbind(server, path);
            throw new AgentException(ErrorKind.ENVIRONMENT, "cannot open the control socket " + path + ": " + e.getMessage(), e);
        } catch (AgentException | RuntimeException e) {
            unbind(server, path);
            throw e;
        }
    }

    /** After a failed start: closes {@code server} and removes the socket it bound (its own), if it got that far. */
    private static void unbind(ServerSocketChannel server, Path path) {
        if (server == null) return;
        boolean bound;
        try {
            bound = server.getLocalAddress() != null;
        } catch (IOException e) {
            bound = false;
        }
        closeQuietly(server);
        try {
            if (bound && ControlSocketFile.at(path) == ControlSocketFile.SOCKET) Files.delete(path);
        } catch (IOException e) {
            LOG.warn("removing the control socket {}: {}", path, CauseChain.of(e));
        }
    }

    public Path path() {
        return path;
    }

    /** Connections open now (waiting for their request line or being served). */
    public int openConnections() {
        return open.get();
    }

    private void selectLoop() {
        List<Pending> ready = new ArrayList<>();
        try {
            while (!closed) {
                long wait = pending.isEmpty() ? 0 : Math.max(1, (pending.iterator().next().deadline - System.nanoTime()) / 1_000_000);
                selector.select(wait);
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey k = it.next();
                    it.remove();
                    if (!k.isValid()) continue;
                    if (k.isAcceptable()) acceptAll();
                    else if (k.isReadable()) read(k, ready);
                }
                expire();
                if (!ready.isEmpty()) {
                    selector.selectNow();   // deregisters the cancelled keys, so the channels can turn blocking
                    for (Pending p : ready) serve(p);
                    ready.clear();
                }
            }
        } catch (IOException | ClosedSelectorException e) {
            if (!closed) LOG.error("control socket {} stopped: {}", path, CauseChain.of(e));
        } finally {
            for (Pending p : pending) drop(p);
            pending.clear();
        }
    }

    private void acceptAll() throws IOException {
        while (true) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                if (!closed) LOG.warn("control socket accept: {}", CauseChain.of(e));
                return;
            }
            if (ch == null) return;
            ControlCaller caller;
            try {
                UnixDomainPrincipal who = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
                caller = access.caller(who.user().getName(), who.group().getName());
            } catch (IOException | RuntimeException e) {
                LOG.warn("control connection whose caller the kernel does not tell: closed ({})", CauseChain.of(e));
                closeQuietly(ch);
                continue;
            }
            String refusal = access.refusal(caller);
            if (refusal != null) Audit.controlRefused(caller, refusal);
            if (open.get() >= options.maxConnections()) {
                LOG.warn("control connection of {} refused: {} connections open (control-socket.max-connections)", caller.describe(),
                        open.get());
                refuse(ch, ErrorKind.ENVIRONMENT, "the agent has " + open.get() + " control connections open, its most"
                        + " (control-socket.max-connections = " + options.maxConnections() + "): try again");
                continue;
            }
            open.incrementAndGet();
            Pending p = new Pending(ch, caller, refusal, System.nanoTime() + options.idleTimeout().toNanos());
            try {
                ch.configureBlocking(false);
                ch.register(selector, SelectionKey.OP_READ, p);
                pending.add(p);
            } catch (IOException e) {
                drop(p);
            }
        }
    }

    /** Reads what arrived; a complete request line goes to {@code ready}. */
    private void read(SelectionKey k, List<Pending> ready) {
        Pending p = (Pending) k.attachment();
        try {
            if (!p.line.hasRemaining()) {
                if (p.line.capacity() >= ControlSocketOptions.MAX_REQUEST_BYTES) {
                    pending.remove(p);
                    k.cancel();
                    refuse(p.channel, ErrorKind.BAD_REQUEST, "control request longer than " + ControlSocketOptions.MAX_REQUEST_BYTES
                            + " bytes");
                    open.decrementAndGet();
                    return;
                }
                ByteBuffer bigger = ByteBuffer.allocate(Math.min(p.line.capacity() * 2, ControlSocketOptions.MAX_REQUEST_BYTES));
                p.line.flip();
                bigger.put(p.line);
                p.line = bigger;
            }
            int before = p.line.position();
            int n = p.channel.read(p.line);
            if (n < 0) {   // left without a request
                pending.remove(p);
                k.cancel();
                drop(p);
                return;
            }
            for (int i = before; i < p.line.position(); i++) {
                if (p.line.get(i) == '\n') {
                    pending.remove(p);
                    k.cancel();
                    p.line.limit(i);
                    p.line.position(0);
                    ready.add(p);
                    return;
                }
            }
        } catch (IOException e) {
            pending.remove(p);
            k.cancel();
            drop(p);
        }
    }

    /** Closes the connections that sent no request line in time (the oldest first: their deadlines come first). */
    private void expire() {
        long now = System.nanoTime();
        for (Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (p.deadline - now > 0) return;
            it.remove();
            LOG.debug("control connection of {} sent no request in {} s: closed", p.caller.describe(), options.idleTimeout().toSeconds());
            SelectionKey k = p.channel.keyFor(selector);
            if (k != null) k.cancel();
            drop(p);
        }
    }

    /** A thread for a connection whose request line arrived: it serves the request, then closes the connection. */
    private void serve(Pending p) {
        if (p.refusal != null) {   // it has sent its request: it reads our answer rather than a reset
            refuse(p.channel, ErrorKind.UNAUTHORIZED, p.refusal);
            open.decrementAndGet();
            return;
        }
        String line = StandardCharsets.UTF_8.decode(p.line).toString();
        if (line.endsWith("\r")) line = line.substring(0, line.length() - 1);
        String request = line;
        Thread t = new Thread(() -> {
            try {
                serve(p.channel, p.caller, request);
            } finally {
                closeQuietly(p.channel);
                open.decrementAndGet();
            }
        }, "vmmig-control-" + served.incrementAndGet());
        t.setDaemon(true);
        try {
            p.channel.configureBlocking(true);
            t.start();
        } catch (IOException | RuntimeException e) {
            LOG.warn("control connection of {}: {}", p.caller.describe(), CauseChain.of(e));
            drop(p);
        }
    }

    private void serve(SocketChannel ch, ControlCaller caller, String line) {
        try {
            Sink sink = new Sink(Channels.newOutputStream(ch));
            ControlRequest request;
            try {
                request = ControlCodec.decodeRequest(line);
            } catch (IllegalArgumentException e) {
                sink.send(new ControlEvent.Failure(null, ErrorKind.BAD_REQUEST, e.getMessage()));
                return;
            }
            handler.handle(caller, request, sink);
        } catch (ClientGoneException e) {
            LOG.debug("control client left: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("control request failed: {}", CauseChain.of(e));
            LOG.debug("control request failed", e);
        }
    }

    /** One failure line (best effort: the socket is fresh, the line small) and the connection closed. */
    private static void refuse(SocketChannel ch, ErrorKind kind, String message) {
        try (ch) {
            ch.configureBlocking(false);
            ch.read(ByteBuffer.allocate(4096));   // what it sent so far: closing with it unread would reset the connection
            ch.write(ByteBuffer.wrap((ControlCodec.encode(new ControlEvent.Failure(null, kind, message)) + "\n")
                    .getBytes(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            LOG.debug("refused control client gone: {}", e.toString());
        }
    }

    private void drop(Pending p) {
        closeQuietly(p.channel);
        open.decrementAndGet();
    }

    private static void closeQuietly(java.nio.channels.Channel ch) {
        if (ch == null) return;
        try {
            ch.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    private static final class Sink implements EventSink {
        private final OutputStream out;

        Sink(OutputStream out) {
            this.out = out;
        }

        @Override
        public synchronized void send(ControlEvent e) {
            try {
                out.write((ControlCodec.encode(e) + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            } catch (IOException ex) {
                throw new ClientGoneException("control client gone: " + ex.getMessage());
            }
        }
    }

    /** Stops accepting; removes the socket file if it is still the socket this server bound (never anything else). */
    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        closeQuietly(server);
        try {
            loop.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            selector.close();
        } catch (IOException e) {
            // closing anyway
        }
        try {
            if (ControlSocketFile.at(path) == ControlSocketFile.SOCKET
                    && Objects.equals(fileKey, Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey()))
                Files.delete(path);
            else if (ControlSocketFile.at(path) != ControlSocketFile.ABSENT)
                LOG.warn("{} is no longer the control socket this agent made: left as it is", path);
        } catch (IOException e) {
            LOG.warn("closing the control socket: {}", CauseChain.of(e));
        }
    }
}
