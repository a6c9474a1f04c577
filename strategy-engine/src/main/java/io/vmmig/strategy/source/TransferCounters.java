package io.vmmig.strategy.source;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** What the source's disk transfer did, for progress and the migration report. */
public final class TransferCounters {
    /** Disk bytes pushed before cutover (decoded size). */
    public final AtomicLong pushedBytes = new AtomicLong();
    /** Payload bytes those pushes took on the wire (after zero elision and compression). */
    public final AtomicLong pushedWireBytes = new AtomicLong();
    public final AtomicLong pushedChunks = new AtomicLong();
    public final AtomicLong pushRuns = new AtomicLong();
    /** All-zero chunks never sent. */
    public final AtomicLong zeroSkippedBytes = new AtomicLong();
    /** Bytes not allocated in the layer being moved, never read. */
    public final AtomicLong unallocatedBytes = new AtomicLong();
    /** Bytes served to the destination's pulls after cutover. */
    public final AtomicLong pulledBytes = new AtomicLong();
    /** Pushed chunks the destination copied from its own images after their fingerprint matched (never crossed). */
    public final AtomicLong dedupBytes = new AtomicLong();
    public final AtomicLong dedupChunks = new AtomicLong();
    /** Chunks whose fingerprint was sent, and the bytes the FINGERPRINTS frames took. */
    public final AtomicLong fingerprintedChunks = new AtomicLong();
    public final AtomicLong fingerprintWireBytes = new AtomicLong();
    /** Payload bytes those answers took on the wire (after zero elision and compression). */
    public final AtomicLong pulledWireBytes = new AtomicLong();
    /** Chunks sent compressed (push and pull), and chunks tried but sent RAW because they did not shrink. */
    public final AtomicLong compressedChunks = new AtomicLong();
    public final AtomicLong incompressibleChunks = new AtomicLong();
    public final AtomicLong compressMillis = new AtomicLong();
    /** Adaptive compression: windows measured, of them with compression on, switches of mode. */
    public final AtomicLong compressionWindows = new AtomicLong();
    public final AtomicLong compressionWindowsOn = new AtomicLong();
    public final AtomicInteger compressionSwitches = new AtomicInteger();
    public final AtomicInteger remainingAtCutover = new AtomicInteger();
}
