package io.vmmig.qmp;

import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vmmig.qmp.codec.QmpDecoder;
import io.vmmig.qmp.command.QmpCommand;
import io.vmmig.qmp.command.QmpCommands;
import io.vmmig.qmp.command.QmpResults;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * A connected QMP client: typed commands ({@link QmpCommands}) and an untyped escape hatch, all asynchronous
 * ({@link CompletableFuture}, completed on the reader thread: use {@code *Async} stages for blocking work),
 * each with a deadline, plus scoped event listeners. Thread-safe.
 *
 * <pre>{@code
 * try (QmpClient qmp = QmpClient.connect(socket);
 *      QmpEventListener stops = qmp.listen("stops", EventFilter.named("STOP"))) {
 *     qmp.call(new QmpCommands.Stop());
 *     stops.next(Duration.ofSeconds(5));
 * }
 * }</pre>
 */
public final class QmpClient implements AutoCloseable {
    /**
     * Connection settings.
     *
     * @param connectTimeout     TCP connect timeout
     * @param negotiationTimeout deadline for the greeting and for qmp_capabilities
     * @param commandTimeout     default per-command deadline
     * @param maxMessageBytes    largest accepted server message
     * @param listenerCapacity   queue size of each event listener (extra events are dropped and counted)
     */
    public record Options(Duration connectTimeout, Duration negotiationTimeout, Duration commandTimeout,
                          int maxMessageBytes, int listenerCapacity) {
        /** Defaults: 5 s connect and negotiation, 30 s commands, 16 MiB messages, 4096 queued events. */
        public static Options defaults() {
            return new Options(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(30),
                    QmpDecoder.DEFAULT_MAX_MESSAGE_BYTES, 4096);
        }

        public Options withCommandTimeout(Duration d) {
            return new Options(connectTimeout, negotiationTimeout, d, maxMessageBytes, listenerCapacity);
        }

        public Options withNegotiationTimeout(Duration d) {
            return new Options(connectTimeout, d, commandTimeout, maxMessageBytes, listenerCapacity);
        }

        public Options withMaxMessageBytes(int n) {
            return new Options(connectTimeout, negotiationTimeout, commandTimeout, n, listenerCapacity);
        }

        public Options withListenerCapacity(int n) {
            return new Options(connectTimeout, negotiationTimeout, commandTimeout, maxMessageBytes, n);
        }
    }

    private final QmpConnection connection;
    private final ObjectMapper mapper;
    private final Options options;

    private QmpClient(QmpConnection connection, ObjectMapper mapper, Options options) {
        this.connection = connection;
        this.mapper = mapper;
        this.options = options;
    }

    /** Connects to a QMP UNIX socket with default options and negotiates capabilities. */
    public static QmpClient connect(Path unixSocket) {
        return connect(QmpEndpoint.unix(unixSocket), Options.defaults());
    }

    /**
     * Connects, waits for the greeting and negotiates capabilities.
     *
     * @throws QmpConnectionLostException if the socket cannot be opened or closes during negotiation
     * @throws QmpTimeoutException        if the greeting or negotiation does not finish in time
     */
    public static QmpClient connect(QmpEndpoint endpoint, Options options) {
        ObjectMapper mapper = QmpJson.newMapper();
        QmpConnection c = new QmpConnection(endpoint, mapper, options);
        c.open();
        return new QmpClient(c, mapper, options);
    }

    /** The server greeting. */
    public QmpGreeting greeting() {
        return connection.greeting();
    }

    /** Current connection state. */
    public QmpState state() {
        return connection.state();
    }

    /** The mapper used for arguments and replies (handy for building blockdev-add options). */
    public ObjectMapper mapper() {
        return mapper;
    }

    /**
     * Waits until the connection is {@link QmpState#CLOSED} (e.g. after {@code quit} or when QEMU dies).
     *
     * @return why it closed
     * @throws QmpTimeoutException if still open after {@code timeout}
     */
    public QmpConnectionLostException awaitClosed(Duration timeout) {
        try {
            return connection.closedFuture().get(timeout.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new QmpTimeoutException("QMP connection still " + state() + " after " + timeout);
        } catch (ExecutionException e) {
            throw unwrap(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QmpException("interrupted while waiting for the QMP connection to close", e);
        }
    }

    /** Number of commands sent and not yet answered, failed or expired. */
    public int pendingCount() {
        return connection.pendingCount();
    }

    /** Number of open event listeners. */
    public int listenerCount() {
        return connection.listenerCount();
    }

    // ---------------------------------------------------------------- execution

    /** Sends a typed command with the default deadline. */
    public <R> CompletableFuture<R> execute(QmpCommand<R> command) {
        return execute(command, options.commandTimeout());
    }

    /** Sends a typed command with its own deadline. */
    public <R> CompletableFuture<R> execute(QmpCommand<R> command, Duration timeout) {
        JavaType type = command.resultType(mapper.getTypeFactory());
        return connection.send(command.commandName(), command.arguments(), timeout)
                .thenApply(json -> decode(command.commandName(), json, type));
    }

    /** Untyped escape hatch: any command, raw {@code return} value. {@code args} may be null. */
    public CompletableFuture<JsonNode> execute(String command, ObjectNode args) {
        return execute(command, args, options.commandTimeout());
    }

    /** Untyped escape hatch with its own deadline. */
    public CompletableFuture<JsonNode> execute(String command, ObjectNode args, Duration timeout) {
        return connection.send(Objects.requireNonNull(command, "command"), args, timeout);
    }

    /** Sends a typed command and waits for its reply (the command's deadline applies). */
    public <R> R call(QmpCommand<R> command) {
        return join(execute(command));
    }

    /** Sends a typed command with its own deadline and waits for its reply. */
    public <R> R call(QmpCommand<R> command, Duration timeout) {
        return join(execute(command, timeout));
    }

    /**
     * Waits for a future of this client, rethrowing its {@link QmpException} unwrapped.
     *
     * @throws IllegalStateException if called on a QMP reader thread (inside a non-async callback stage) while the
     *                               future is not done yet: it could never complete
     */
    public static <T> T join(CompletableFuture<T> future) {
        if (!future.isDone() && QmpConnection.onReaderThread()) {
            throw new IllegalStateException("blocking on a QMP reply inside a callback on the QMP reader thread would"
                    + " stall every reply: use thenCompose or the *Async stages");
        }
        try {
            return future.get();
        } catch (ExecutionException e) {
            throw unwrap(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QmpException("interrupted while waiting for a QMP reply", e);
        }
    }

    private static QmpException unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t instanceof QmpException q ? q : new QmpException("QMP call failed: " + t, t);
    }

    @SuppressWarnings("unchecked")
    private <R> R decode(String command, JsonNode json, JavaType type) {
        if (type.getRawClass() == Void.class) {
            return null;
        }
        try {
            return (R) mapper.convertValue(json, type);
        } catch (IllegalArgumentException e) {
            throw new QmpProtocolException("cannot map the reply of " + command + " to " + type + ": "
                    + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- events

    /**
     * Opens a scoped event listener: it queues every event matching {@code filter} until closed.
     *
     * @param name   shown in errors and logs
     * @param filter which events to keep
     */
    public QmpEventListener listen(String name, EventFilter filter) {
        return connection.listen(Objects.requireNonNull(name, "name"), Objects.requireNonNull(filter, "filter"));
    }

    // ---------------------------------------------------------------- convenience

    public CompletableFuture<QmpResults.StatusInfo> queryStatus() {
        return execute(new QmpCommands.QueryStatus());
    }

    public CompletableFuture<QmpResults.VersionInfo> queryVersion() {
        return execute(new QmpCommands.QueryVersion());
    }

    public CompletableFuture<List<QmpResults.BlockInfo>> queryBlock() {
        return execute(new QmpCommands.QueryBlock());
    }

    public CompletableFuture<List<QmpResults.BlockDeviceInfo>> queryNamedBlockNodes() {
        return execute(new QmpCommands.QueryNamedBlockNodes(true));
    }

    public CompletableFuture<List<QmpResults.BlockJobInfo>> queryBlockJobs() {
        return execute(new QmpCommands.QueryBlockJobs());
    }

    public CompletableFuture<List<QmpResults.BlockExportInfo>> queryBlockExports() {
        return execute(new QmpCommands.QueryBlockExports());
    }

    public CompletableFuture<QmpResults.MigrationInfo> queryMigrate() {
        return execute(new QmpCommands.QueryMigrate());
    }

    public CompletableFuture<Void> blockdevAdd(ObjectNode options) {
        return execute(new QmpCommands.BlockdevAdd(options));
    }

    public CompletableFuture<Void> blockdevDel(String nodeName) {
        return execute(new QmpCommands.BlockdevDel(nodeName));
    }

    public CompletableFuture<Void> stop() {
        return execute(new QmpCommands.Stop());
    }

    public CompletableFuture<Void> cont() {
        return execute(new QmpCommands.Cont());
    }

    public CompletableFuture<Void> quit() {
        return execute(new QmpCommands.Quit());
    }

    public CompletableFuture<String> humanMonitorCommand(String commandLine) {
        return execute(new QmpCommands.HumanMonitorCommand(commandLine));
    }

    /** Closes the connection: pending calls fail with {@link QmpConnectionLostException}, listeners end. */
    @Override
    public void close() {
        connection.close();
    }
}
