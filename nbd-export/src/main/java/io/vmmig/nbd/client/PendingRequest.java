package io.vmmig.nbd.client;

import io.vmmig.nbd.protocol.NbdCommand;
import io.vmmig.nbd.protocol.NbdException;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/** One request on the wire, waiting for its reply; touched by the reader thread only once sent. */
final class PendingRequest {
    final long cookie;
    final NbdCommand command;
    final long offset;
    final long length;
    final int flags;
    /** READ: where the data goes (position 0 = offset). */
    final ByteBuffer target;
    final int weightBytes;
    final CompletableFuture<Object> future = new CompletableFuture<>();
    private final AtomicBoolean released = new AtomicBoolean();

    volatile boolean abandoned;
    volatile ScheduledFuture<?> deadline;

    long covered;
    NbdException firstError;
    Map<Integer, List<Extent>> extents;

    PendingRequest(long cookie, NbdCommand command, long offset, long length, int flags, ByteBuffer target,
                   int weightBytes) {
        this.cookie = cookie;
        this.command = command;
        this.offset = offset;
        this.length = length;
        this.flags = flags;
        this.target = target;
        this.weightBytes = weightBytes;
        if (command == NbdCommand.BLOCK_STATUS) extents = new HashMap<>();
    }

    /** @return true exactly once: the caller then gives back the in-flight capacity. */
    boolean release() {
        return released.compareAndSet(false, true);
    }

    void addExtents(int contextId, List<Extent> list) {
        extents.computeIfAbsent(contextId, k -> new ArrayList<>()).addAll(list);
    }

    void recordError(NbdException e) {
        if (firstError == null) firstError = e;
    }

    @Override
    public String toString() {
        return command + " cookie=" + cookie + " offset=" + offset + " length=" + length;
    }
}
