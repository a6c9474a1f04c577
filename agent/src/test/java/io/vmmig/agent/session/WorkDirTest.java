package io.vmmig.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vmmig.agent.control.ErrorKind;
import io.vmmig.agent.daemon.AgentException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A migration's directory: made new under STATE-DIR/m, and the only kind the agent removes. */
class WorkDirTest {
    @TempDir
    Path state;

    @Test
    void madeNewUnderM() throws Exception {
        Path d = WorkDir.create(state, "m-1a2b3c4d");
        assertEquals(state.resolve("m/m-1a2b3c4d"), d);
        assertTrue(Files.isDirectory(d));
        assertTrue(WorkDir.isMigrationDir(d));
        AgentException again = assertThrows(AgentException.class, () -> WorkDir.create(state, "m-1a2b3c4d"));
        assertTrue(again.getMessage().contains("already exists; the agent leaves it alone"), again.getMessage());
    }

    @Test
    void anIdThatLeavesMIsRefusedAndNothingMade() throws Exception {
        for (String id : new String[] {"..", "../../../tmp/x", "a/b", "", ".", "/etc"}) {
            AgentException e = assertThrows(AgentException.class, () -> WorkDir.create(state, id), id);
            assertEquals(ErrorKind.BAD_REQUEST, e.kind(), id);
        }
        assertFalse(Files.exists(state.resolve("m/a")));
        assertFalse(Files.exists(state.getParent().resolve("tmp")));
    }

    @Test
    void removeDirRemovesAMigrationDirectoryAndNothingElse() throws Exception {
        Path mine = WorkDir.create(state, "m-00000001");
        Files.writeString(mine.resolve("qemu.log"), "log");
        RestartRecovery.removeDir(mine.toString());
        assertFalse(Files.exists(mine));

        Path stateFile = Files.writeString(state.resolve("journal-keep"), "keep");
        RestartRecovery.removeDir(state.toString());   // the state dir itself, as an id of ".." would have made it
        assertTrue(Files.exists(stateFile), "the state dir is not a migration directory");

        Path elsewhere = Files.createDirectories(state.resolve("other/dir"));
        Files.writeString(elsewhere.resolve("f"), "keep");
        RestartRecovery.removeDir(elsewhere.toString());
        assertTrue(Files.exists(elsewhere.resolve("f")));

        Path target = Files.createDirectories(state.resolve("precious"));
        Files.writeString(target.resolve("f"), "keep");
        Files.createDirectories(state.resolve("m"));
        Path link = Files.createSymbolicLink(state.resolve("m/m-link"), target);
        RestartRecovery.removeDir(link.toString());
        assertTrue(Files.exists(target.resolve("f")), "a link under m/ is not followed");

        RestartRecovery.removeDir(state.resolve("m/m-00000002/../../precious").toString());
        assertTrue(Files.exists(target.resolve("f")), "a path with .. is not a migration directory");
    }
}
