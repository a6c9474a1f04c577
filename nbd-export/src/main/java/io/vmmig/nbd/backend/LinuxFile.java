package io.vmmig.nbd.backend;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A Linux file descriptor opened through libc (JNA) for the calls the JDK lacks: fallocate(2) hole
 * punching / zero ranges and lseek(2) SEEK_DATA / SEEK_HOLE. Data I/O stays on a FileChannel of the
 * same file; both descriptors refer to the same inode.
 */
final class LinuxFile implements AutoCloseable {
    /** Result of an fallocate attempt the caller may want to fall back from. */
    enum Outcome { DONE, UNSUPPORTED }

    private interface Libc extends Library {
        int open(String path, int flags) throws LastErrorException;

        int close(int fd) throws LastErrorException;

        int fallocate(int fd, int mode, long offset, long length) throws LastErrorException;

        long lseek(int fd, long offset, int whence) throws LastErrorException;
    }

    private static final Libc LIBC = Native.load("c", Libc.class);

    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;
    private static final int FALLOC_FL_KEEP_SIZE = 0x01;
    private static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    private static final int FALLOC_FL_ZERO_RANGE = 0x10;
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int ENXIO = 6;
    private static final int EINTR = 4;
    private static final int ENOSPC = 28;
    private static final int EOPNOTSUPP = 95;
    private static final int ENOSYS = 38;
    private static final int EINVAL = 22;

    private final int fd;
    private final Path path;
    private volatile boolean closed;

    LinuxFile(Path path, boolean writable) throws IOException {
        this.path = path;
        try {
            this.fd = LIBC.open(path.toString(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        } catch (LastErrorException e) {
            throw new IOException("open(" + path + ") failed: errno " + e.getErrorCode(), e);
        }
    }

    /** Deallocates the range; it reads back as zeroes, the file size is unchanged. */
    Outcome punchHole(long offset, long length) throws BackendException {
        return fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length, "punch hole");
    }

    /** Zeroes the range keeping it allocated, without writing data blocks. */
    Outcome zeroRange(long offset, long length) throws BackendException {
        return fallocate(FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, length, "zero range");
    }

    private Outcome fallocate(int mode, long offset, long length, String what) throws BackendException {
        while (true) {
            try {
                LIBC.fallocate(fd, mode, offset, length);
                return Outcome.DONE;
            } catch (LastErrorException e) {
                int err = e.getErrorCode();
                if (err == EINTR) continue;
                if (err == EOPNOTSUPP || err == ENOSYS || err == EINVAL) return Outcome.UNSUPPORTED;
                throw new BackendException(err == ENOSPC ? io.vmmig.nbd.protocol.NbdErrno.ENOSPC
                        : io.vmmig.nbd.protocol.NbdErrno.EIO,
                        what + " [" + offset + ", +" + length + ") of " + path + " failed: errno " + err, e);
            }
        }
    }

    /** @return first data offset at or after {@code offset}, or -1 if there is none before end of file */
    long nextData(long offset) throws BackendException {
        return seek(offset, SEEK_DATA);
    }

    /** @return first hole offset at or after {@code offset} (end of file counts as a hole), or -1 past the end */
    long nextHole(long offset) throws BackendException {
        return seek(offset, SEEK_HOLE);
    }

    private long seek(long offset, int whence) throws BackendException {
        try {
            return LIBC.lseek(fd, offset, whence);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == ENXIO) return -1;
            throw new BackendException(io.vmmig.nbd.protocol.NbdErrno.EIO,
                    "lseek(" + (whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE") + ", " + offset + ") on "
                            + path + " failed: errno " + e.getErrorCode(), e);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            LIBC.close(fd);
        } catch (LastErrorException ignored) {
            // nothing to do: the descriptor is gone either way
        }
    }
}
