package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdException;
import io.vmmig.nbd.protocol.NbdReplyType;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Ties decoded replies to pending requests (runs on the reader thread): checks that every chunk fits
 * its request, fills read targets (holes as zeroes), gathers extents, and completes a request when
 * its reply is done.
 */
final class ReplyDispatcher implements ReplyListener {

    /** Completes a request: removes it, gives back its capacity, completes its future. */
    interface Completion {
        void finish(PendingRequest p, Object value, NbdException error);
    }

    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(64 << 10).asReadOnlyBuffer();

    private final Map<Long, PendingRequest> pending;
    private final Map<Integer, String> contextNames;
    private final Completion completion;

    ReplyDispatcher(Map<Long, PendingRequest> pending, Map<Integer, String> contextNames, Completion completion) {
        this.pending = pending;
        this.contextNames = contextNames;
        this.completion = completion;
    }

    private PendingRequest lookup(long cookie, String what) throws NbdProtocolException {
        PendingRequest p = pending.get(cookie);
        if (p == null) throw new NbdProtocolException(what + " for unknown cookie " + cookie);
        return p;
    }

    private PendingRequest readInRange(long cookie, long offset, long length, String what) throws NbdProtocolException {
        PendingRequest p = lookup(cookie, what);
        if (p.command != NbdCommand.READ) throw new NbdProtocolException(what + " in reply to " + p);
        if (offset < p.offset || offset + length > p.offset + p.length) {
            throw new NbdProtocolException(what + " offset=" + offset + " length=" + length + " outside of " + p);
        }
        return p;
    }

    @Override
    public long onSimpleReply(long cookie, int error) throws NbdProtocolException {
        PendingRequest p = lookup(cookie, "simple reply");
        if (error != 0) {
            p.recordError(new NbdServerErrorException(p.command, p.offset, p.length, error, -1, null));
            return 0;
        }
        if (p.command == NbdCommand.BLOCK_STATUS) throw new NbdProtocolException("successful simple reply to " + p);
        if (p.command == NbdCommand.READ) {
            p.covered = p.length;
            return p.length;
        }
        return 0;
    }

    @Override
    public ByteBuffer simpleDataTarget(long cookie, int length) throws NbdProtocolException {
        PendingRequest p = lookup(cookie, "simple reply data");
        return p.abandoned ? null : p.target.duplicate().clear();
    }

    @Override
    public void onSimpleReplyDone(long cookie) throws NbdProtocolException {
        done(lookup(cookie, "simple reply"));
    }

    @Override
    public ByteBuffer dataTarget(long cookie, long offset, int length) throws NbdProtocolException {
        PendingRequest p = readInRange(cookie, offset, length, "OFFSET_DATA");
        if (p.abandoned) return null;
        return p.target.slice((int) (offset - p.offset), length);
    }

    @Override
    public void onData(long cookie, int flags, long offset, int length) throws NbdProtocolException {
        PendingRequest p = readInRange(cookie, offset, length, "OFFSET_DATA");
        p.covered += length;
        if ((flags & NbdReplyType.FLAG_DONE) != 0) done(p);
    }

    @Override
    public void onHole(long cookie, int flags, long offset, int length) throws NbdProtocolException {
        long len = length & 0xffffffffL;
        PendingRequest p = readInRange(cookie, offset, len, "OFFSET_HOLE");
        if (!p.abandoned) {
            ByteBuffer t = p.target.slice((int) (offset - p.offset), (int) len);
            while (t.hasRemaining()) {
                ByteBuffer z = ZEROES.duplicate();
                z.limit(Math.min(z.capacity(), t.remaining()));
                t.put(z);
            }
        }
        p.covered += len;
        if ((flags & NbdReplyType.FLAG_DONE) != 0) done(p);
    }

    @Override
    public void onBlockStatus(long cookie, int flags, int contextId, int[] extents) throws NbdProtocolException {
        PendingRequest p = lookup(cookie, "BLOCK_STATUS chunk");
        if (p.command != NbdCommand.BLOCK_STATUS) throw new NbdProtocolException("BLOCK_STATUS chunk in reply to " + p);
        if (!contextNames.containsKey(contextId)) throw new NbdProtocolException("BLOCK_STATUS chunk for context id " + contextId + " that was not negotiated");
        if (p.extents.containsKey(contextId)) throw new NbdProtocolException("second BLOCK_STATUS chunk for context id " + contextId + " in " + p);
        List<Extent> list = new ArrayList<>(extents.length / 2);
        long at = p.offset;
        for (int i = 0; i < extents.length; i += 2) {
            long len = extents[i] & 0xffffffffL;
            if (len == 0) throw new NbdProtocolException("BLOCK_STATUS extent of length 0 in " + p);
            list.add(new Extent(at, len, extents[i + 1]));
            at += len;
        }
        p.addExtents(contextId, list);
        if ((flags & NbdReplyType.FLAG_DONE) != 0) done(p);
    }

    @Override
    public void onError(long cookie, int flags, int type, int errno, String message, long errorOffset)
            throws NbdProtocolException {
        PendingRequest p = lookup(cookie, "error chunk");
        if (errorOffset >= 0 && (errorOffset < p.offset || errorOffset >= p.offset + Math.max(1, p.length))) {
            throw new NbdProtocolException("ERROR_OFFSET offset " + errorOffset + " outside of " + p);
        }
        p.recordError(new NbdServerErrorException(p.command, p.offset, p.length, errno, errorOffset, message));
        if ((flags & NbdReplyType.FLAG_DONE) != 0) done(p);
    }

    @Override
    public void onNone(long cookie, int flags) throws NbdProtocolException {
        done(lookup(cookie, "NONE chunk"));
    }

    private void done(PendingRequest p) throws NbdProtocolException {
        if (p.firstError != null) {
            completion.finish(p, null, p.firstError);
            return;
        }
        if (p.command == NbdCommand.READ && p.covered != p.length) {
            throw new NbdProtocolException("reply to " + p + " ended after covering " + p.covered + " bytes");
        }
        Object value = null;
        if (p.command == NbdCommand.BLOCK_STATUS) {
            if (p.extents.isEmpty()) throw new NbdProtocolException("reply to " + p + " ended without extents");
            Map<String, List<Extent>> byName = new LinkedHashMap<>();
            p.extents.forEach((id, list) -> byName.put(contextNames.get(id), List.copyOf(list)));
            value = new BlockStatus(p.offset, p.length, byName);
        }
        completion.finish(p, value, null);
    }
}
