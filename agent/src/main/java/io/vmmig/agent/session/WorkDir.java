package io.vmmig.agent.session;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * A migration's directory in the agent's state dir, {@code STATE-DIR/m/ID}: made new by this agent for
 * each migration (never an existing one taken over), and the only kind of directory
 * {@link RestartRecovery#removeDir} removes, so that no id, journal entry or typo makes the agent delete
 * a path it did not create.
 */
public final class WorkDir {
    private WorkDir() {
    }

    /**
     * Creates {@code stateDir/m/id}, which must not exist yet.
     *
     * @throws AgentException the id does not name a directory of its own there, or the directory exists
     */
    public static Path create(Path stateDir, String id) throws AgentException {
        Path m = stateDir.resolve("m");
        Path dir = m.resolve(id);
        if (id.isEmpty() || !dir.normalize().equals(dir) || !m.equals(dir.getParent()))
            throw new AgentException(ErrorKind.BAD_REQUEST, "migration id '" + id + "' names no directory of its own in " + m);
        try {
            Files.createDirectories(m);
            return Files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
            throw new AgentException(ErrorKind.BAD_REQUEST, "migration " + id + ": " + dir + " already exists; the agent leaves it"
                    + " alone (another migration's, or one to look at)", e);
        } catch (IOException e) {
            throw new AgentException(ErrorKind.ENVIRONMENT, "cannot create " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code dir} is a migration's directory as {@link #create} makes them: {@code .../m/ID}, a real directory. */
    public static boolean isMigrationDir(Path dir) {
        Path parent = dir.getParent();
        return dir.isAbsolute() && dir.normalize().equals(dir) && parent != null && parent.getFileName() != null
                && parent.getFileName().toString().equals("m") && !dir.getFileName().toString().startsWith(".")
                && Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS);
    }
}
