package io.vmmig.nbd.backend;

import io.vmmig.nbd.protocol.NbdErrno;
import io.vmmig.nbd.protocol.NbdReplyType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A raw image file as an export. Data moves with positional FileChannel I/O; WRITE_ZEROES (when holes
 * are allowed) and TRIM punch holes so the file stays sparse; WRITE_ZEROES with NO_HOLE uses
 * FALLOC_FL_ZERO_RANGE; block status comes from SEEK_DATA/SEEK_HOLE; FLUSH is fdatasync. Every
 * operation completes synchronously on the calling thread.
 */
public final class LocalFileBackend implements BlockBackend {
    private static final int ZERO_CHUNK = 1 << 20;
    private static final BackendCapabilities CAPABILITIES =
            new BackendCapabilities(true, true, true, true, true, true, true);

    private final Path path;
    private final FileChannel channel;
    private final LinuxFile file;
    private final long size;
    private final boolean readOnly;

    private LocalFileBackend(Path path, FileChannel channel, LinuxFile file, long size, boolean readOnly) {
        this.path = path;
        this.channel = channel;
        this.file = file;
        this.size = size;
        this.readOnly = readOnly;
    }

    /** Opens an existing raw file; its current length is the export size. */
    public static LocalFileBackend open(Path path, boolean readOnly) throws IOException {
        FileChannel ch = readOnly ? FileChannel.open(path, StandardOpenOption.READ)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            LinuxFile lf = new LinuxFile(path, !readOnly);
            return new LocalFileBackend(path, ch, lf, ch.size(), readOnly);
        } catch (IOException | RuntimeException | LinkageError e) {
            ch.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public BackendCapabilities capabilities() {
        return CAPABILITIES;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        try {
            long pos = offset;
            while (dst.hasRemaining()) {
                int n = channel.read(dst, pos);
                if (n < 0) { // file shrank under us: the missing tail reads as zeroes
                    while (dst.hasRemaining()) dst.put((byte) 0);
                    break;
                }
                pos += n;
            }
            return done();
        } catch (IOException e) {
            return failed("read", offset, dst.capacity(), e);
        }
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src, boolean fua) {
        if (readOnly) return refused("write");
        int len = src.remaining();
        try {
            long pos = offset;
            while (src.hasRemaining()) pos += channel.write(src, pos);
            if (fua) channel.force(false);
            return done();
        } catch (IOException e) {
            return failed("write", offset, len, e);
        }
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayTrim, boolean fastZero, boolean fua) {
        if (readOnly) return refused("write zeroes");
        try {
            LinuxFile.Outcome outcome = mayTrim ? file.punchHole(offset, length) : file.zeroRange(offset, length);
            if (outcome == LinuxFile.Outcome.UNSUPPORTED && mayTrim) outcome = file.zeroRange(offset, length);
            if (outcome == LinuxFile.Outcome.UNSUPPORTED) {
                if (fastZero) {
                    return CompletableFuture.failedFuture(new BackendException(NbdErrno.ENOTSUP,
                            "fast zero not possible on " + path + ": file system supports neither hole punching nor zero ranges"));
                }
                writeZeroBytes(offset, length);
            }
            if (fua) channel.force(false);
            return done();
        } catch (BackendException e) {
            return CompletableFuture.failedFuture(e);
        } catch (IOException e) {
            return failed("write zeroes", offset, length, e);
        }
    }

    private void writeZeroBytes(long offset, long length) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(length, ZERO_CHUNK));
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), end - pos));
            while (zeros.hasRemaining()) pos += channel.write(zeros, pos);
        }
    }

    @Override
    public CompletableFuture<Void> trim(long offset, long length, boolean fua) {
        if (readOnly) return refused("trim");
        try {
            file.punchHole(offset, length); // UNSUPPORTED is fine: trim is only a hint
            if (fua) channel.force(false);
            return done();
        } catch (BackendException e) {
            return CompletableFuture.failedFuture(e);
        } catch (IOException e) {
            return failed("trim", offset, length, e);
        }
    }

    @Override
    public CompletableFuture<Void> flush() {
        try {
            channel.force(false);
            return done();
        } catch (IOException e) {
            return failed("flush", 0, size, e);
        }
    }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents) {
        try {
            long end = Math.min(size, offset + length);
            List<Extent> extents = new ArrayList<>();
            long pos = offset;
            while (pos < end && extents.size() < Math.max(1, maxExtents)) {
                long data = file.nextData(pos);
                if (data < 0 || data >= end) {
                    extents.add(new Extent(end - pos, NbdReplyType.STATE_HOLE | NbdReplyType.STATE_ZERO));
                    break;
                }
                if (data > pos) {
                    extents.add(new Extent(data - pos, NbdReplyType.STATE_HOLE | NbdReplyType.STATE_ZERO));
                    pos = data;
                    continue;
                }
                long hole = file.nextHole(pos);
                long dataEnd = hole < 0 ? end : Math.min(hole, end);
                if (dataEnd <= pos) dataEnd = end; // file changed under us: report the rest as data
                extents.add(new Extent(dataEnd - pos, 0));
                pos = dataEnd;
            }
            return CompletableFuture.completedFuture(extents);
        } catch (BackendException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            file.close();
        }
    }

    private CompletableFuture<Void> refused(String op) {
        return CompletableFuture.failedFuture(new BackendException(NbdErrno.EPERM, op + " refused: " + path + " is opened read-only"));
    }

    private static CompletableFuture<Void> done() {
        return CompletableFuture.completedFuture(null);
    }

    private <T> CompletableFuture<T> failed(String op, long offset, long length, IOException e) {
        String msg = e.getMessage() == null ? "" : e.getMessage();
        NbdErrno errno = msg.contains("No space left") || msg.contains("Disk quota") || msg.contains("File too large")
                ? NbdErrno.ENOSPC : NbdErrno.EIO;
        return CompletableFuture.failedFuture(new BackendException(errno,
                op + " [" + offset + ", +" + length + ") of " + path + " failed: " + msg, e));
    }
}
