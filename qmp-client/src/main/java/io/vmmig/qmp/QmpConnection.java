package io.vmmig.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.qmp.codec.QmpDecoder;
import io.vmmig.qmp.codec.QmpEncoder;
import io.vmmig.qmp.codec.QmpMessageHandler;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One QMP session: the state machine (IDLE, CONNECTING, NEGOTIATING, RUNNING, DISCONNECTING, CLOSED), one
 * reader thread feeding the {@link QmpDecoder}, serialized writes, generated ids with a pending map,
 * per-command deadlines and event dispatch. Typed commands live in {@link QmpClient}.
 */
final class QmpConnection implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QmpConnection.class);
    static final String ID_PREFIX = "vmmig-";
    private static final ThreadLocal<Boolean> READER = ThreadLocal.withInitial(() -> false);

    private record Pending(String id, String command, ObjectNode arguments, CompletableFuture<JsonNode> future) {
    }

    private final QmpEndpoint endpoint;
    private final QmpClient.Options options;
    private final QmpEncoder encoder;
    private final QmpDecoder decoder;
    private final QmpEventHub events = new QmpEventHub();
    private final ConcurrentHashMap<String, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong lastId = new AtomicLong();
    private final AtomicReference<QmpState> state = new AtomicReference<>(QmpState.IDLE);
    private final CompletableFuture<QmpGreeting> greeting = new CompletableFuture<>();
    private final CompletableFuture<QmpConnectionLostException> closed = new CompletableFuture<>();
    private final ScheduledThreadPoolExecutor deadlines;
    private volatile QmpConnectionLostException lost;
    private QmpTransport transport;
    private Thread reader;

    QmpConnection(QmpEndpoint endpoint, ObjectMapper mapper, QmpClient.Options options) {
        this.endpoint = endpoint;
        this.options = options;
        this.encoder = new QmpEncoder(mapper);
        this.decoder = new QmpDecoder(mapper, new Handler(), options.maxMessageBytes());
        this.deadlines = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "qmp-deadlines " + endpoint);
            t.setDaemon(true);
            return t;
        });
        this.deadlines.setRemoveOnCancelPolicy(true);
    }

    /** Connects, reads the greeting and negotiates capabilities; on failure everything is released. */
    void open() {
        if (!state.compareAndSet(QmpState.IDLE, QmpState.CONNECTING)) {
            throw new IllegalStateException("connection already opened: " + state.get());
        }
        try {
            transport = QmpTransport.open(endpoint, options.connectTimeout());
        } catch (IOException e) {
            QmpConnectionLostException ex = new QmpConnectionLostException(
                    "cannot connect to QMP at " + endpoint + ": " + e, e);
            lose(ex);
            throw ex;
        }
        state.set(QmpState.NEGOTIATING);
        reader = new Thread(this::readLoop, "qmp-reader " + endpoint);
        reader.setDaemon(true);
        reader.start();
        try {
            try {
                await(greeting, options.negotiationTimeout(), "QMP greeting");
            } catch (QmpTimeoutException e) {
                // QEMU accepts a second connection on a monitor socket but greets it only once the first
                // client leaves: silence after the accept is a monitor someone else holds
                throw new QmpTimeoutException("no QMP greeting from " + endpoint + " within " + options.negotiationTimeout()
                        + ": the QMP socket accepted the connection but sent no greeting: another client (libvirt? another"
                        + " vmmig? a test's QMP client?) holds it; QEMU serves one client per monitor: close that client,"
                        + " or give the VM a second monitor (-qmp unix:PATH,server=on,wait=off) for vmmig");
            }
            await(send("qmp_capabilities", null, options.negotiationTimeout()), options.negotiationTimeout(),
                    "qmp_capabilities");
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        if (!state.compareAndSet(QmpState.NEGOTIATING, QmpState.RUNNING)) {
            throw lostOr(new QmpConnectionLostException("connection to " + endpoint + " lost during negotiation"));
        }
        log.debug("QMP connected to {}: {}", endpoint, greeting.join());
    }

    QmpGreeting greeting() {
        return greeting.getNow(null);
    }

    QmpState state() {
        return state.get();
    }

    QmpEventListener listen(String name, EventFilter filter) {
        return events.register(name, filter, options.listenerCapacity());
    }

    int listenerCount() {
        return events.size();
    }

    int pendingCount() {
        return pending.size();
    }

    /** Sends a command; the future completes with QEMU's {@code return} value or a {@link QmpException}. */
    CompletableFuture<JsonNode> send(String command, Object arguments, Duration timeout) {
        CompletableFuture<JsonNode> future = new CompletableFuture<>();
        QmpConnectionLostException gone = lost;
        if (gone != null) {
            future.completeExceptionally(new QmpConnectionLostException(command + ": " + gone.getMessage(), gone));
            return future;
        }
        QmpState s = state.get();
        boolean negotiation = s == QmpState.NEGOTIATING && command.equals("qmp_capabilities");
        if (s != QmpState.RUNNING && !negotiation) {
            future.completeExceptionally(new QmpException(command + ": connection to " + endpoint
                    + " is not running (" + s + ")"));
            return future;
        }
        ObjectNode args;
        byte[] bytes;
        String id = ID_PREFIX + lastId.incrementAndGet();
        try {
            args = encoder.arguments(command, arguments);
            bytes = encoder.encode(command, args, id);
        } catch (RuntimeException e) {
            future.completeExceptionally(e instanceof QmpException ? e
                    : new QmpException("cannot encode arguments of " + command + ": " + e.getMessage(), e));
            return future;
        }
        Pending p = new Pending(id, command, args, future);
        pending.put(id, p);
        try {
            ScheduledFuture<?> deadline = deadlines.schedule(() -> expire(p, timeout), timeout.toNanos(),
                    TimeUnit.NANOSECONDS);
            future.whenComplete((r, e) -> deadline.cancel(false));
        } catch (RejectedExecutionException e) {
            // the connection is being torn down: lost is set, handled just below
        }
        if (lost != null) {
            failPending(id, lost);
            return future;
        }
        try {
            transport.write(bytes);
        } catch (IOException e) {
            lose(new QmpConnectionLostException("writing " + command + " to " + endpoint + " failed: " + e, e));
        }
        return future;
    }

    private void expire(Pending p, Duration timeout) {
        if (pending.remove(p.id, p)) {
            p.future.completeExceptionally(new QmpTimeoutException(p.command + " (" + p.id + ") got no reply from "
                    + endpoint + " within " + timeout));
        }
    }

    private void failPending(String id, QmpConnectionLostException cause) {
        Pending p = pending.remove(id);
        if (p != null) {
            p.future.completeExceptionally(new QmpConnectionLostException(p.command + " (" + p.id + "): "
                    + cause.getMessage(), cause));
        }
    }

    /** True on a QMP reader thread, where futures are completed: blocking there would stall every reply. */
    static boolean onReaderThread() {
        return READER.get();
    }

    private void readLoop() {
        READER.set(true);
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        try {
            while (true) {
                buf.clear();
                int n = transport.read(buf);
                if (n < 0) {
                    decoder.endOfStream();
                    lose(new QmpConnectionLostException("QMP connection to " + endpoint + " closed by the peer"));
                    return;
                }
                decoder.feed(buf.array(), 0, n);
            }
        } catch (QmpProtocolException e) {
            log.warn("QMP protocol error from {}: {}", endpoint, e.getMessage());
            lose(new QmpConnectionLostException("QMP protocol error from " + endpoint + ": " + e.getMessage(), e));
        } catch (IOException e) {
            // after our own close() this is the closed channel; otherwise the peer went away (reset, broken pipe)
            lose(new QmpConnectionLostException("QMP connection to " + endpoint + " closed by the peer ("
                    + e.getMessage() + ")", e));
        } catch (RuntimeException | Error e) {
            log.error("QMP reader for {} failed", endpoint, e);
            lose(new QmpConnectionLostException("QMP reader for " + endpoint + " failed: " + e, e));
        }
    }

    /** Tears down once: fails every pending call, ends every listener. */
    private void lose(QmpConnectionLostException cause) {
        synchronized (this) {
            if (lost != null) {
                return;
            }
            lost = cause;
        }
        state.set(QmpState.DISCONNECTING);
        if (transport != null) {
            transport.close();
        }
        deadlines.shutdownNow();
        // CLOSED before anyone is told, so whoever sees a failure also sees the final state
        state.set(QmpState.CLOSED);
        closed.complete(cause);
        for (String id : pending.keySet()) {
            failPending(id, cause);
        }
        greeting.completeExceptionally(cause);
        events.end(cause);
    }

    /** Completes with the reason once the connection is CLOSED. */
    CompletableFuture<QmpConnectionLostException> closedFuture() {
        return closed;
    }

    @Override
    public void close() {
        state.compareAndSet(QmpState.RUNNING, QmpState.DISCONNECTING);
        lose(new QmpConnectionLostException("QMP connection to " + endpoint + " closed by the client"));
        Thread r = reader;
        if (r != null && r != Thread.currentThread()) {
            try {
                r.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private QmpException lostOr(QmpException fallback) {
        return lost != null ? lost : fallback;
    }

    private <T> T await(CompletableFuture<T> f, Duration timeout, String what) {
        try {
            return f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new QmpTimeoutException("no " + what + " from " + endpoint + " within " + timeout);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof QmpException q ? q
                    : new QmpException(what + " from " + endpoint + " failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QmpException("interrupted waiting for " + what + " from " + endpoint, e);
        }
    }

    private boolean issued(String id) {
        if (!id.startsWith(ID_PREFIX)) {
            return false;
        }
        try {
            long n = Long.parseLong(id.substring(ID_PREFIX.length()));
            return n >= 1 && n <= lastId.get();
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** Decoder callbacks, on the reader thread. */
    private final class Handler implements QmpMessageHandler {
        @Override
        public void onGreeting(QmpGreeting g) {
            if (!greeting.complete(g)) {
                throw new QmpProtocolException("second greeting from " + endpoint + ": " + g);
            }
        }

        @Override
        public void onReturn(String id, JsonNode result) {
            Pending p = take(id, "return");
            if (p != null) {
                p.future.complete(result);
            }
        }

        @Override
        public void onError(String id, String errorClass, String description) {
            Pending p = take(id, "error");
            if (p != null) {
                p.future.completeExceptionally(new QmpExecuteException(errorClass, description, p.command,
                        p.arguments));
            }
        }

        @Override
        public void onEvent(QmpEvent event) {
            events.dispatch(event);
        }

        private Pending take(String id, String kind) {
            Pending p = pending.remove(id);
            if (p == null) {
                if (!issued(id)) {
                    throw new QmpProtocolException(kind + " for unknown id '" + id + "' from " + endpoint);
                }
                log.debug("ignoring late {} for {} from {} (deadline passed)", kind, id, endpoint);
            }
            return p;
        }
    }
}
