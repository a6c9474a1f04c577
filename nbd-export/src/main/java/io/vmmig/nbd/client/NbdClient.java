package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdException;
import io.vmmig.nbd.protocol.NbdMagic;
import io.vmmig.nbd.protocol.NbdReplyType;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * NBD client over a UNIX or TCP socket: fixed newstyle negotiation, structured replies, meta contexts,
 * then many requests in flight on one connection. Every request method returns a future; its
 * callbacks run on the connection's reader thread, so they must not block (use the *Async variants).
 * Requests are checked locally first (state, advertised flags, read-only, bounds, alignment) and
 * READ/WRITE larger than the export's maximum block size are split. The caller blocks while the
 * in-flight bounds are reached (a timed-out request keeps its slot until its late reply arrives,
 * which is then discarded). All errors are {@link NbdException}s.
 */
public final class NbdClient implements AutoCloseable {

    private enum State { OPEN, CLOSING, CLOSED, DEAD }

    private static final ScheduledThreadPoolExecutor DEADLINES = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "nbd-client-deadlines");
        t.setDaemon(true);
        return t;
    });
    static {
        DEADLINES.setRemoveOnCancelPolicy(true);
    }

    private final SocketChannel channel;
    private final NbdClientOptions options;
    private final ExportInfo info;
    private final Map<Integer, String> contextNames = new HashMap<>();
    private final RequestGate gate;
    private final ConcurrentHashMap<Long, PendingRequest> pending = new ConcurrentHashMap<>();
    private final AtomicLong cookies = new AtomicLong(1);
    private final Semaphore requestPermits;
    private final Semaphore bytePermits;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final ByteBuffer requestHeader = ByteBuffer.allocateDirect(NbdMagic.REQUEST_HEADER_SIZE);
    private final Object drained = new Object();
    private final Thread reader;
    private volatile State state = State.OPEN;
    private volatile NbdException deathCause;

    private NbdClient(SocketChannel channel, NbdClientOptions options, ExportInfo info) {
        this.channel = channel;
        this.options = options;
        this.info = info;
        this.gate = new RequestGate(info, options.checkBounds());
        info.metaContexts().forEach((name, id) -> contextNames.put(id, name));
        this.requestPermits = new Semaphore(options.maxInFlightRequests());
        this.bytePermits = new Semaphore(options.maxInFlightBytes());
        this.reader = new Thread(this::readLoop, "nbd-reader-" + info.name());
        reader.setDaemon(true);
    }

    /** Connects to a UNIX socket. */
    public static NbdClient connect(Path unixSocket, NbdClientOptions options) throws NbdException {
        return connect(UnixDomainSocketAddress.of(unixSocket), options);
    }

    /** Connects to a {@link UnixDomainSocketAddress} or an {@link InetSocketAddress} and enters transmission. */
    public static NbdClient connect(SocketAddress address, NbdClientOptions options) throws NbdException {
        SocketChannel ch = open(address, options.handshakeTimeout());
        ScheduledFuture<?> watchdog = watchdog(ch, options.handshakeTimeout());
        try {
            OptionNegotiator n = new OptionNegotiator(ch);
            n.greet();
            boolean structured = options.structuredReplies() && n.structuredReply();
            Map<String, Integer> contexts = new LinkedHashMap<>();
            if (!options.metaContexts().isEmpty()) {
                if (!structured) throw new NbdRefusedException("meta contexts " + options.metaContexts() + " need structured replies, which the server does not support");
                contexts = n.setMetaContexts(options.exportName(), options.metaContexts());
            }
            ExportInfo info = n.goOrInfo(true, options.exportName(), structured, contexts);
            if (!watchdog.cancel(false)) throw new AsynchronousCloseException();
            NbdClient c = new NbdClient(ch, options, info);
            c.reader.start();
            return c;
        } catch (IOException | RuntimeException e) {
            watchdog.cancel(false);
            closeQuietly(ch);
            throw negotiationFailure(e, address, options.handshakeTimeout());
        }
    }

    /** Asks the server for its export list (NBD_OPT_LIST), then ends the session with NBD_OPT_ABORT. */
    public static List<ExportListing> listExports(SocketAddress address, Duration timeout) throws NbdException {
        SocketChannel ch = open(address, timeout);
        ScheduledFuture<?> watchdog = watchdog(ch, timeout);
        try {
            OptionNegotiator n = new OptionNegotiator(ch);
            n.greet();
            List<ExportListing> list = n.list();
            n.abort();
            return list;
        } catch (IOException | RuntimeException e) {
            throw negotiationFailure(e, address, timeout);
        } finally {
            watchdog.cancel(false);
            closeQuietly(ch);
        }
    }

    /** Queries an export without entering transmission (NBD_OPT_INFO, then NBD_OPT_ABORT). */
    public static ExportInfo queryInfo(SocketAddress address, String exportName, Duration timeout) throws NbdException {
        SocketChannel ch = open(address, timeout);
        ScheduledFuture<?> watchdog = watchdog(ch, timeout);
        try {
            OptionNegotiator n = new OptionNegotiator(ch);
            n.greet();
            ExportInfo info = n.goOrInfo(false, exportName, false, Map.of());
            n.abort();
            return info;
        } catch (IOException | RuntimeException e) {
            throw negotiationFailure(e, address, timeout);
        } finally {
            watchdog.cancel(false);
            closeQuietly(ch);
        }
    }

    private static SocketChannel open(SocketAddress address, Duration timeout) throws NbdException {
        try {
            SocketChannel ch;
            if (address instanceof UnixDomainSocketAddress) {
                ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            } else {
                ch = SocketChannel.open();
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            }
            ScheduledFuture<?> w = watchdog(ch, timeout);
            try {
                ch.connect(address);
            } catch (IOException e) {
                closeQuietly(ch);
                throw w.isDone() && !w.isCancelled() ? new NbdTimeoutException("connecting to " + address + " took longer than " + timeout) : e;
            } finally {
                w.cancel(false);
            }
            return ch;
        } catch (NbdException e) {
            throw e;
        } catch (IOException e) {
            throw new NbdConnectionLostException("cannot connect to NBD server at " + address + ": " + e, e);
        }
    }

    private static ScheduledFuture<?> watchdog(SocketChannel ch, Duration timeout) {
        long ms = timeout == null || timeout.isZero() ? Long.MAX_VALUE / 4 : timeout.toMillis();
        return DEADLINES.schedule(() -> closeQuietly(ch), ms, TimeUnit.MILLISECONDS);
    }

    private static NbdException negotiationFailure(Exception e, SocketAddress address, Duration timeout) {
        if (e instanceof AsynchronousCloseException || e instanceof ClosedChannelException) {
            return new NbdTimeoutException("negotiation with " + address + " took longer than " + timeout);
        }
        if (e instanceof NbdException) return (NbdException) e;
        return new NbdConnectionLostException("negotiation with " + address + " failed: " + e, e);
    }

    /** @return what the server said about the export. */
    public ExportInfo export() {
        return info;
    }

    /** @return requests sent and not yet answered (or timed out and not yet answered). */
    public int pendingRequests() {
        return pending.size();
    }

    // ---------------------------------------------------------------- commands

    /**
     * Reads {@code dst.remaining()} bytes at {@code offset} into dst (from its position; dst's
     * position and limit are left alone). dst must not be touched until the future completes.
     */
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        return dataRequest(NbdCommand.READ, 0, offset, dst);
    }

    /** Writes {@code src.remaining()} bytes at {@code offset}; src must not change until completion. */
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        return dataRequest(NbdCommand.WRITE, fua ? NbdCommand.FLAG_FUA : 0, offset, src);
    }

    /** @param flags any of FLAG_FUA, FLAG_NO_HOLE, FLAG_FAST_ZERO (each only if the export allows it) */
    public CompletableFuture<Void> writeZeroes(long offset, long length, int flags) {
        return rangeRequest(NbdCommand.WRITE_ZEROES, flags, offset, length);
    }

    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        return rangeRequest(NbdCommand.TRIM, fua ? NbdCommand.FLAG_FUA : 0, offset, length);
    }

    public CompletableFuture<Void> cache(long offset, long length) {
        return rangeRequest(NbdCommand.CACHE, 0, offset, length);
    }

    public CompletableFuture<Void> flush() {
        NbdException refusal = refusal(NbdCommand.FLUSH, 0, 0, 0);
        if (refusal != null) return CompletableFuture.failedFuture(refusal);
        return submit(NbdCommand.FLUSH, 0, 0, 0, null).thenApply(x -> null);
    }

    /**
     * One BLOCK_STATUS request over all negotiated meta contexts. The server may describe less than
     * the requested range (callers loop on the end of the shortest list); lengths above 2 GiB are
     * clamped.
     */
    public CompletableFuture<BlockStatus> blockStatus(long offset, long length, boolean reqOne) {
        long len = Math.min(length, 1L << 31);
        if (options.checkBounds() && offset >= 0 && offset < info.size()) len = Math.min(len, info.size() - offset);
        int flags = reqOne ? NbdCommand.FLAG_REQ_ONE : 0;
        NbdException refusal = refusal(NbdCommand.BLOCK_STATUS, flags, offset, len);
        if (refusal != null) return CompletableFuture.failedFuture(refusal);
        if (len == 0) return CompletableFuture.failedFuture(new NbdRefusedException("BLOCK_STATUS of length 0"));
        return submit(NbdCommand.BLOCK_STATUS, flags, offset, len, null).thenApply(o -> (BlockStatus) o);
    }

    /** Waits for a future of this client and unwraps its failure into the {@link NbdException} it carries. */
    public static <T> T await(CompletableFuture<T> f) throws NbdException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NbdException("interrupted while waiting for an NBD reply", e);
        } catch (ExecutionException e) {
            throw unwrap(e.getCause());
        }
    }

    /** @return the NbdException inside a future's failure. */
    public static NbdException unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) t = t.getCause();
        if (t instanceof NbdException) return (NbdException) t;
        return new NbdException("unexpected failure: " + t, t);
    }

    private CompletableFuture<Void> dataRequest(NbdCommand cmd, int flags, long offset, ByteBuffer buf) {
        int len = buf.remaining();
        NbdException refusal = refusal(cmd, flags, offset, len);
        if (refusal != null) return CompletableFuture.failedFuture(refusal);
        if (len == 0) return CompletableFuture.completedFuture(null);
        int max = Math.min(info.effectiveMaximumBlockSize(), options.maxInFlightBytes());
        if (info.minimumBlockSize() > 1) max &= ~(info.minimumBlockSize() - 1);
        int base = buf.position();
        if (len <= max) return submit(cmd, flags, offset, len, buf.slice(base, len)).thenApply(x -> null);
        List<CompletableFuture<Object>> parts = new ArrayList<>();
        for (int done = 0; done < len; ) {
            int n = Math.min(max, len - done);
            parts.add(submit(cmd, flags, offset + done, n, buf.slice(base + done, n)));
            done += n;
        }
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0]));
    }

    private CompletableFuture<Void> rangeRequest(NbdCommand cmd, int flags, long offset, long length) {
        NbdException refusal = refusal(cmd, flags, offset, length);
        if (refusal != null) return CompletableFuture.failedFuture(refusal);
        if (length == 0) return CompletableFuture.completedFuture(null);
        long max = 1L << 30;
        if (length <= max) return submit(cmd, flags, offset, length, null).thenApply(x -> null);
        List<CompletableFuture<Object>> parts = new ArrayList<>();
        for (long done = 0; done < length; done += max) {
            parts.add(submit(cmd, flags, offset + done, Math.min(max, length - done), null));
        }
        return CompletableFuture.allOf(parts.toArray(new CompletableFuture<?>[0]));
    }

    /** @return why this request may not be sent, or null. */
    NbdException refusal(NbdCommand cmd, int flags, long offset, long length) {
        State s = state;
        if (s == State.DEAD) return new NbdConnectionLostException("connection to export '" + info.name() + "' is dead", deathCause);
        if (s != State.OPEN) return new NbdRefusedException(cmd + " refused: client for export '" + info.name() + "' is closed");
        return gate.refusal(cmd, flags, offset, length);
    }

    // ---------------------------------------------------------------- sending

    private CompletableFuture<Object> submit(NbdCommand cmd, int flags, long offset, long length, ByteBuffer buf) {
        int weight = cmd == NbdCommand.READ || cmd == NbdCommand.WRITE ? (int) Math.min(length, options.maxInFlightBytes()) : 0;
        Duration timeout = options.requestTimeout();
        boolean timed = timeout != null && !timeout.isZero();
        long waitNanos = timed ? timeout.toNanos() : Long.MAX_VALUE;
        long start = System.nanoTime();
        try {
            if (!requestPermits.tryAcquire(waitNanos, TimeUnit.NANOSECONDS)) {
                return CompletableFuture.failedFuture(new NbdTimeoutException(cmd + " offset=" + offset + " length=" + length
                        + ": no in-flight slot within " + timeout));
            }
            long left = waitNanos == Long.MAX_VALUE ? Long.MAX_VALUE : waitNanos - (System.nanoTime() - start);
            if (weight > 0 && !bytePermits.tryAcquire(weight, left, TimeUnit.NANOSECONDS)) {
                requestPermits.release();
                return CompletableFuture.failedFuture(new NbdTimeoutException(cmd + " offset=" + offset + " length=" + length
                        + ": in-flight byte budget not available within " + timeout));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return CompletableFuture.failedFuture(new NbdException(cmd + " interrupted while waiting for an in-flight slot", e));
        }
        long cookie = cookies.getAndIncrement();
        PendingRequest p = new PendingRequest(cookie, cmd, offset, length, flags, cmd == NbdCommand.READ ? buf : null, weight);
        pending.put(cookie, p);
        if (state != State.OPEN) {
            fail(p, refusal(cmd, flags, offset, length));
            return p.future;
        }
        if (timed) {
            p.deadline = DEADLINES.schedule(() -> expire(p, timeout), timeout.toNanos(), TimeUnit.NANOSECONDS);
        }
        writeLock.lock();
        try {
            ByteBuffer h = requestHeader.clear();
            h.putInt(NbdMagic.REQUEST).putShort((short) flags).putShort((short) cmd.code).putLong(cookie)
                    .putLong(offset).putInt((int) length).flip();
            if (cmd == NbdCommand.WRITE) {
                ByteBuffer[] bufs = {h, buf};
                while (buf.hasRemaining()) channel.write(bufs);
            } else {
                while (h.hasRemaining()) channel.write(h);
            }
        } catch (IOException e) {
            died(new NbdConnectionLostException("sending " + p + " failed: " + e, e));
        } finally {
            writeLock.unlock();
        }
        return p.future;
    }

    private void expire(PendingRequest p, Duration timeout) {
        if (p.future.isDone()) return;
        p.abandoned = true;   // its in-flight slot stays taken until the server answers or the connection dies
        p.future.completeExceptionally(new NbdTimeoutException(p + ": no reply within " + timeout));
    }

    private void releasePermits(PendingRequest p) {
        if (p.release()) {
            if (p.weightBytes > 0) bytePermits.release(p.weightBytes);
            requestPermits.release();
        }
    }

    private void finish(PendingRequest p, Object value, NbdException error) {
        pending.remove(p.cookie, p);
        ScheduledFuture<?> d = p.deadline;
        if (d != null) d.cancel(false);
        releasePermits(p);
        if (error != null) p.future.completeExceptionally(error);
        else p.future.complete(value);
        if (pending.isEmpty()) {
            synchronized (drained) {
                drained.notifyAll();
            }
        }
    }

    private void fail(PendingRequest p, NbdException e) {
        finish(p, null, e);
    }

    /** The connection is unusable: fail every pending request with one {@link NbdConnectionLostException}. */
    private void died(NbdConnectionLostException cause) {
        synchronized (this) {
            if (state != State.DEAD && state != State.CLOSED) {
                deathCause = cause;
                state = State.DEAD;
            }
        }
        closeQuietly(channel);
        for (PendingRequest p : pending.values()) fail(p, cause);
    }

    // ---------------------------------------------------------------- receiving

    private void readLoop() {
        ReplyDecoder decoder = new ReplyDecoder(new ReplyDispatcher(pending, contextNames, this::finish), options.maxMetadataPayload());
        ByteBuffer in = ByteBuffer.allocateDirect(64 << 10);   // small: data beyond a header is copied once from here
        try {
            while (true) {
                ByteBuffer direct = decoder.directTarget();
                int n;
                if (direct != null) {
                    n = channel.read(direct);
                    if (n > 0) decoder.directFilled(n);
                } else {
                    in.clear();
                    n = channel.read(in);
                    in.flip();
                    if (n > 0) decoder.feed(in);
                }
                if (n < 0) {
                    if (state == State.CLOSING && pending.isEmpty() && decoder.atReplyBoundary()) return;
                    died(new NbdConnectionLostException("server closed the connection to export '" + info.name() + "'"
                            + (pending.isEmpty() ? "" : " with " + pending.size() + " requests pending"), null));
                    return;
                }
            }
        } catch (NbdProtocolException e) {
            died(new NbdConnectionLostException("protocol violation by the server of export '" + info.name() + "': " + e.getMessage(), e));
        } catch (IOException e) {
            if (state == State.CLOSED || state == State.DEAD) {
                died(new NbdConnectionLostException("connection to export '" + info.name() + "' closed", e));
            } else {
                died(new NbdConnectionLostException("reading from export '" + info.name() + "' failed: " + e, e));
            }
        } catch (RuntimeException e) {
            died(new NbdConnectionLostException("reply handling failed for export '" + info.name() + "': " + e, e));
        } catch (Error e) {
            died(new NbdConnectionLostException("reader thread of export '" + info.name() + "' failed: " + e, e));
            throw e;
        }
    }

    // ---------------------------------------------------------------- closing

    /**
     * Orderly close: refuses new requests, waits (up to the close timeout) for pending replies, sends
     * NBD_CMD_DISC, and closes the socket. Requests still pending then fail with
     * {@link NbdConnectionLostException}.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (state != State.OPEN) {
                if (state == State.DEAD) abort();
                return;
            }
            state = State.CLOSING;
        }
        boolean onReader = Thread.currentThread() == reader;   // called from a future callback: cannot wait for replies
        long deadline = System.nanoTime() + options.closeTimeout().toNanos();
        synchronized (drained) {
            while (!onReader && !pending.isEmpty()) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) break;
                try {
                    drained.wait(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        writeLock.lock();
        try {
            ByteBuffer h = requestHeader.clear();
            h.putInt(NbdMagic.REQUEST).putShort((short) 0).putShort((short) NbdCommand.DISC.code)
                    .putLong(cookies.getAndIncrement()).putLong(0).putInt(0).flip();
            while (h.hasRemaining()) channel.write(h);
            channel.shutdownOutput();
        } catch (IOException e) {
            // the server may already be gone; closing below is all that is left to do
        } finally {
            writeLock.unlock();
        }
        if (!onReader) {
            try {
                reader.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        abort();
    }

    /** Closes the socket at once; pending requests fail with {@link NbdConnectionLostException}. */
    public void abort() {
        synchronized (this) {
            if (state != State.DEAD) state = State.CLOSED;
        }
        closeQuietly(channel);
        NbdConnectionLostException e = new NbdConnectionLostException("client for export '" + info.name() + "' closed", deathCause);
        for (PendingRequest p : pending.values()) fail(p, e);
        if (Thread.currentThread() != reader) {
            try {
                reader.join(1000);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing useful to do
        }
    }
}
