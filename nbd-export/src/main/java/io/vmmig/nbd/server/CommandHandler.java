package io.vmmig.nbd.server;

import io.vmmig.nbd.backend.BackendException;
import io.vmmig.nbd.backend.BlockBackend;
import io.vmmig.nbd.backend.Extent;
import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdErrno;
import io.vmmig.nbd.protocol.NbdReplyType;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Executes validated requests on the export's backend and builds the complete reply message
 * (simple or structured). Knows nothing about sockets.
 */
final class CommandHandler {
    /** Upper bound of descriptors in one BLOCK_STATUS chunk (spec: SHOULD NOT exceed 2^20). */
    static final int MAX_EXTENTS = 1 << 16;
    /** READ extents asked from the backend to find holes. */
    private static final int READ_EXTENTS = 64;

    private final NegotiatedSession session;
    private final BlockBackend backend;
    private final BufferPool pool;

    CommandHandler(NegotiatedSession session, BufferPool pool) {
        this.session = session;
        this.backend = session.export().backend();
        this.pool = pool;
    }

    /** The error reply for a request rejected before or during execution. */
    ReplyMessage errorReply(NbdRequest r, NbdErrno errno, String reason) {
        boolean structured = session.structuredReplies()
                && (r.command() == NbdCommand.READ || r.command() == NbdCommand.BLOCK_STATUS);
        return ReplyMessage.of(structured ? ReplyEncoder.error(r.cookie(), true, errno, reason)
                : ReplyEncoder.simple(r.cookie(), errno));
    }

    /** Runs the request; the future always completes normally with the reply to send. */
    CompletableFuture<ReplyMessage> execute(NbdRequest r) {
        CompletableFuture<ReplyMessage> reply;
        try {
            reply = switch (r.command()) {
                case READ -> read(r);
                case WRITE -> status(r, backend.write(r.offset(), r.payload(), r.hasFlag(NbdCommand.FLAG_FUA)));
                case WRITE_ZEROES -> status(r, r.length() == 0 ? done() : backend.writeZeroes(r.offset(), r.length(),
                        !r.hasFlag(NbdCommand.FLAG_NO_HOLE), r.hasFlag(NbdCommand.FLAG_FAST_ZERO), r.hasFlag(NbdCommand.FLAG_FUA)));
                case TRIM -> status(r, r.length() == 0 ? done() : backend.trim(r.offset(), r.length(), r.hasFlag(NbdCommand.FLAG_FUA)));
                case FLUSH -> status(r, backend.flush());
                case CACHE -> status(r, backend.cache(r.offset(), r.length()));
                case BLOCK_STATUS -> blockStatus(r);
                case DISC -> throw new IllegalStateException("DISC has no reply");
            };
        } catch (RuntimeException e) { // a backend that throws instead of failing its future
            reply = CompletableFuture.failedFuture(e);
        }
        return reply.exceptionally(t -> {
            Throwable cause = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
            NbdErrno errno = cause instanceof BackendException b ? b.errno() : NbdErrno.EIO;
            return errorReply(r, errno, r.command() + " failed: " + cause.getMessage());
        });
    }

    private static CompletableFuture<Void> done() {
        return CompletableFuture.completedFuture(null);
    }

    private CompletableFuture<ReplyMessage> status(NbdRequest r, CompletableFuture<Void> op) {
        return op.thenApply(v -> ReplyMessage.of(ReplyEncoder.simple(r.cookie(), null)));
    }

    private CompletableFuture<ReplyMessage> read(NbdRequest r) {
        int len = (int) r.length();
        if (!session.structuredReplies()) {
            return readInto(r.offset(), len).thenApply(data ->
                    new ReplyMessage(new ByteBuffer[]{ReplyEncoder.simple(r.cookie(), null), data}, List.of(data)));
        }
        if (len == 0) return CompletableFuture.completedFuture(ReplyMessage.of(ReplyEncoder.none(r.cookie())));
        if (r.hasFlag(NbdCommand.FLAG_DF) || !backend.capabilities().blockStatus()) {
            return dataChunk(r, r.offset(), len).thenApply(chunk -> withDone(List.of(chunk)));
        }
        CompletableFuture<List<Extent>> holes;
        try {
            holes = backend.blockStatus(r.offset(), len, READ_EXTENTS);
        } catch (RuntimeException e) {
            holes = CompletableFuture.failedFuture(e);
        }
        // hole detection is an optimisation: if it fails, read everything as data
        return holes.exceptionally(t -> List.of()).thenCompose(extents -> {
            List<CompletableFuture<Chunk>> parts = new ArrayList<>();
            long pos = r.offset();
            long end = r.offset() + len;
            for (Extent e : extents) {
                if (pos >= end) break;
                int n = (int) Math.min(e.length(), end - pos);
                parts.add(e.zero() ? CompletableFuture.completedFuture(new Chunk(ReplyEncoder.offsetHole(r.cookie(), false, pos, n), null))
                        : dataChunk(r, pos, n));
                pos += n;
            }
            if (pos < end) parts.add(dataChunk(r, pos, (int) (end - pos)));
            return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).handle((v, err) -> {
                if (err != null) { // give back the buffers of the parts that did succeed
                    for (CompletableFuture<Chunk> p : parts) if (!p.isCompletedExceptionally()) pool.release(p.join().data());
                    throw err instanceof CompletionException c ? c : new CompletionException(err);
                }
                return withDone(parts.stream().map(CompletableFuture::join).toList());
            });
        });
    }

    /** One structured chunk: its header, and its data buffer (pooled) if any. */
    private record Chunk(ByteBuffer header, ByteBuffer data) {}

    private CompletableFuture<Chunk> dataChunk(NbdRequest r, long offset, int len) {
        return readInto(offset, len).thenApply(data -> new Chunk(ReplyEncoder.offsetDataHeader(r.cookie(), false, offset, len), data));
    }

    /** Reads into a pooled buffer; the buffer goes back to the pool if the read fails. */
    private CompletableFuture<ByteBuffer> readInto(long offset, int len) {
        ByteBuffer data = pool.acquire(len);
        CompletableFuture<Void> read;
        try {
            read = backend.read(offset, data);
        } catch (RuntimeException e) {
            pool.release(data);
            throw e;
        }
        return read.handle((v, err) -> {
            if (err != null) {
                pool.release(data);
                throw err instanceof CompletionException c ? c : new CompletionException(err);
            }
            return data.flip();
        });
    }

    /** Flattens chunks into one message, setting NBD_REPLY_FLAG_DONE on the last chunk's header. */
    private static ReplyMessage withDone(List<Chunk> chunks) {
        ByteBuffer lastHeader = chunks.get(chunks.size() - 1).header();
        int flagsAt = lastHeader.position() + 4;
        lastHeader.putShort(flagsAt, (short) (lastHeader.getShort(flagsAt) | NbdReplyType.FLAG_DONE));
        List<ByteBuffer> buffers = new ArrayList<>(chunks.size() * 2);
        List<ByteBuffer> pooled = new ArrayList<>(chunks.size());
        for (Chunk c : chunks) {
            buffers.add(c.header());
            if (c.data() != null) {
                buffers.add(c.data());
                pooled.add(c.data());
            }
        }
        return new ReplyMessage(buffers.toArray(ByteBuffer[]::new), pooled);
    }

    private CompletableFuture<ReplyMessage> blockStatus(NbdRequest r) {
        boolean one = r.hasFlag(NbdCommand.FLAG_REQ_ONE);
        List<SelectedContext> contexts = session.contexts();
        List<CompletableFuture<ByteBuffer>> chunks = new ArrayList<>();
        for (int i = 0; i < contexts.size(); i++) {
            SelectedContext c = contexts.get(i);
            boolean last = i == contexts.size() - 1;
            chunks.add(c.context().extents(backend, r.offset(), r.length(), one ? 1 : MAX_EXTENTS)
                    .thenApply(ex -> ReplyEncoder.blockStatus(r.cookie(), last, c.id(), clip(ex, r.length(), one))));
        }
        return CompletableFuture.allOf(chunks.toArray(CompletableFuture[]::new))
                .thenApply(v -> ReplyMessage.of(chunks.stream().map(CompletableFuture::join).toArray(ByteBuffer[]::new)));
    }

    /** Clips extents to the request length (and to one extent with REQ_ONE); never returns an empty list. */
    static List<Extent> clip(List<Extent> extents, long length, boolean one) {
        List<Extent> out = new ArrayList<>();
        long covered = 0;
        for (Extent e : extents) {
            if (covered >= length || (one && !out.isEmpty())) break;
            long n = Math.min(e.length(), length - covered);
            out.add(new Extent(n, e.flags()));
            covered += n;
        }
        if (out.isEmpty()) out.add(new Extent(length, 0));
        return out;
    }
}
