package io.vmmig.nbd.server;

import io.vmmig.nbd.protocol.NbdCommand;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One client connection: handshake, then the transmission loop. Its thread reads requests off the
 * socket continuously and hands them to the worker pool; replies are written in completion order
 * (out of order) under the channel's write lock. The in-flight budget throttles reading.
 */
final class NbdConnection implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(NbdConnection.class);
    private static final int READ_BUFFER = 256 * 1024;
    private static final long DRAIN_TIMEOUT_SECONDS = 30;

    private final ConnectionChannel channel;
    private final Map<String, NbdExport> exports;
    private final NbdExport defaultExport;
    private final NbdServerConfig config;
    private final Executor workers;
    private final String peer;
    private final InFlightBudget budget;
    private final Runnable onClose;
    private final BufferPool pool;
    private final ScheduledExecutorService timer;

    NbdConnection(ConnectionChannel channel, Map<String, NbdExport> exports, NbdExport defaultExport,
                  NbdServerConfig config, Executor workers, BufferPool pool, ScheduledExecutorService timer,
                  String peer, Runnable onClose) {
        this.channel = channel;
        this.exports = exports;
        this.defaultExport = defaultExport;
        this.config = config;
        this.workers = workers;
        this.peer = peer;
        this.budget = new InFlightBudget(config.maxInFlightBytes());
        this.onClose = onClose;
        this.pool = pool;
        this.timer = timer;
    }

    @Override
    public void run() {
        try {
            NegotiatedSession session;
            ScheduledFuture<?> deadline = timer.schedule(() -> {
                LOG.warn("{}: handshake not finished within {}, disconnecting", peer, config.handshakeTimeout());
                channel.close();
            }, config.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
            try {
                session = new Negotiation(channel, exports, defaultExport, config.maxPayload()).run();
            } finally {
                deadline.cancel(false);
            }
            if (session != null) {
                LOG.debug("{}: transmission on export '{}' (structured={}, contexts={})", peer,
                        session.export().name(), session.structuredReplies(), session.contexts().size());
                transmit(session);
            }
        } catch (NbdProtocolException e) {
            LOG.warn("{}: closing connection: {}", peer, e.getMessage());
        } catch (EOFException | ClosedChannelException e) {
            LOG.debug("{}: peer went away: {}", peer, e.toString());
        } catch (IOException e) {
            LOG.debug("{}: connection failed: {}", peer, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("{}: unexpected failure, closing connection", peer, e);
        } finally {
            try {
                if (!budget.awaitIdle(DRAIN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    LOG.warn("{}: requests still running after {} s, closing anyway", peer, DRAIN_TIMEOUT_SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            budget.close();
            channel.close();
            onClose.run();
        }
    }

    /** Closes the socket; the connection thread then finishes. */
    void close() {
        budget.close();
        channel.close();
    }

    private void transmit(NegotiatedSession session) throws IOException, InterruptedException {
        RequestDecoder decoder = new RequestDecoder(config.maxPayload(), pool::acquire);
        RequestValidator validator = new RequestValidator(session, config.maxPayload());
        CommandHandler handler = new CommandHandler(session, pool);
        ReplyQueue replies = new ReplyQueue(channel, e -> LOG.debug("{}: reply write failed, closing: {}", peer, e.toString()));
        ByteBuffer in = pool.acquire(READ_BUFFER);
        try {
            readLoop(decoder, validator, handler, replies, in);
        } finally {
            pool.release(in);
        }
    }

    private void readLoop(RequestDecoder decoder, RequestValidator validator, CommandHandler handler, ReplyQueue replies,
                          ByteBuffer in) throws IOException, InterruptedException {
        while (true) {
            if (channel.read(in) < 0) {
                if (in.position() > 0 || decoder.pendingBytes() > 0) LOG.debug("{}: EOF inside a request", peer);
                return;
            }
            in.flip();
            NbdRequest r;
            while ((r = decoder.decode(in)) != null) {
                RequestValidator.Rejection rejection = validator.check(r);
                if (rejection != null) {
                    LOG.debug("{}: rejecting request: {}", peer, rejection.reason());
                    NbdRequest rejected = r;
                    replies.send(handler.errorReply(r, rejection.errno(), rejection.reason()), () -> pool.release(rejected.payload()));
                    continue;
                }
                if (r.command() == NbdCommand.DISC) return; // finally drains in-flight requests before closing
                dispatch(handler, replies, r);
            }
            in.compact();
        }
    }

    private void dispatch(CommandHandler handler, ReplyQueue replies, NbdRequest r) throws InterruptedException, IOException {
        long cost = r.command() == NbdCommand.READ || r.command() == NbdCommand.WRITE ? r.length() : 0;
        if (!budget.acquire(cost)) throw new ClosedChannelException();
        Runnable afterWrite = () -> {
            pool.release(r.payload());
            budget.release(cost);
        };
        try {
            workers.execute(() -> {
                CompletableFuture<ReplyMessage> reply = handler.execute(r);
                if (reply.isDone()) {
                    send(replies, reply.join(), afterWrite); // completed synchronously: reply from this worker
                } else {
                    // completed later by the backend: write on a worker, never on the backend's thread
                    reply.thenAcceptAsync(m -> send(replies, m, afterWrite), workers).exceptionally(t -> {
                        LOG.error("{}: reply for cookie {} not sent", peer, r.cookie(), t);
                        channel.close();
                        return null;
                    });
                }
            });
        } catch (RejectedExecutionException e) {
            afterWrite.run();
            throw new ClosedChannelException();
        }
    }

    private void send(ReplyQueue replies, ReplyMessage reply, Runnable afterWrite) {
        replies.send(reply, () -> {
            reply.pooled().forEach(pool::release);
            afterWrite.run();
        });
    }
}
