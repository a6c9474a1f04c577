package io.vmmig.agent.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * What is at the {@code control-socket} path, looked at without following a symbolic link. The agent binds
 * its socket only where nothing is, or over a socket a dead agent left; anything else (a regular file a
 * typo names, a directory, a symbolic link) is refused and left as it is: the agent never removes a path
 * it did not create.
 */
public enum ControlSocketFile {
    ABSENT, SOCKET, REGULAR_FILE, DIRECTORY, SYMBOLIC_LINK, OTHER;

    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    /** What is at {@code path} now. */
    public static ControlSocketFile at(Path path) throws IOException {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return ABSENT;
        }
        if ((mode & S_IFMT) == S_IFSOCK) return SOCKET;
        if (Files.isSymbolicLink(path)) return SYMBOLIC_LINK;
        if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) return DIRECTORY;
        if (Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) return REGULAR_FILE;
        return OTHER;
    }

    /** Why the agent cannot put its socket at {@code path}, naming the key; null when it can (nothing or a socket there). */
    public static String problem(Path path) {
        ControlSocketFile k;
        try {
            k = at(path);
        } catch (IOException | RuntimeException e) {
            return "control-socket = " + path + ": cannot look at it: " + CauseChain.of(e);
        }
        return switch (k) {
            case ABSENT, SOCKET -> null;
            case REGULAR_FILE -> "control-socket = " + path + ": a regular file is there, not a socket; the agent neither"
                    + " uses nor removes it (a typo? point control-socket at a path of its own)";
            case DIRECTORY -> "control-socket = " + path + ": a directory, not a socket path (name the socket inside it,"
                    + " e.g. " + path.resolve("control.sock") + ")";
            case SYMBOLIC_LINK -> "control-socket = " + path + ": a symbolic link; the agent does not follow or replace it"
                    + " (name the socket's own path)";
            case OTHER -> "control-socket = " + path + ": something other than a socket is there (a FIFO or a device);"
                    + " the agent leaves it alone";
        };
    }
}
