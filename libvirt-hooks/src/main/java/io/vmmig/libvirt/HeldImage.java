package io.vmmig.libvirt;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An image file the source agent keeps open for the whole migration, so that the pull after the switchover
 * reads the bytes the guest wrote even if someone removes the file once libvirt undefined the domain.
 * QEMU tools open it through {@link #procPath()} ({@code /proc/PID/fd/N}).
 */
public final class HeldImage implements AutoCloseable {
    private final Path path;
    private final FileChannel channel;
    private final Path procPath;

    private HeldImage(Path path, FileChannel channel, Path procPath) {
        this.path = path;
        this.channel = channel;
        this.procPath = procPath;
    }

    public static HeldImage open(Path path) throws IOException {
        Path real = path.toRealPath();
        FileChannel ch = FileChannel.open(real, StandardOpenOption.READ);
        try {
            return new HeldImage(real, ch, findFd(real));
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The newest of this process's descriptors that point at {@code file} (any of them reads the same inode). */
    private static Path findFd(Path file) throws IOException {
        Path fds = Path.of("/proc/self/fd");
        Path found = null;
        int best = -1;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(fds)) {
            for (Path fd : ds) {
                try {
                    if (Files.readSymbolicLink(fd).equals(file)) {
                        int n = Integer.parseInt(fd.getFileName().toString());
                        if (n > best) {
                            best = n;
                            found = fd;
                        }
                    }
                } catch (IOException | NumberFormatException e) {
                    // a descriptor closed meanwhile
                }
            }
        }
        if (found == null) throw new IOException("opened " + file + " but found no descriptor for it in /proc/self/fd");
        return Path.of("/proc", Long.toString(ProcessHandle.current().pid()), "fd", Integer.toString(best));
    }

    public Path path() {
        return path;
    }

    public Path procPath() {
        return procPath;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
