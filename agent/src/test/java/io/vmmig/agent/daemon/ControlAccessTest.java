package io.vmmig.agent.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Who may use the control socket, decided on the kernel's credentials of the caller. */
class ControlAccessTest {
    static final Path SOCKET = Path.of("/run/vmmig/control.sock");
    final FakeAccounts accounts = new FakeAccounts(0)
            .user("root", 0).user("alice", 1000, 990).user("bob", 1001).user("svc", 998).user("nobody", 65534)
            .group("root", 0).group("vmmig", 990).group("alice", 1000).group("bob", 1001).group("nogroup", 65534).group("svc", 998);

    @Test
    void withoutAGroupOnlyRootAndTheAgentsOwnUser() {
        ControlAccess a = new ControlAccess(SOCKET, null, accounts);
        assertEquals("rw-------", a.mode());
        assertNull(a.refusal(a.caller("root", "root")));
        String why = a.refusal(a.caller("alice", "alice"));
        assertNotNull(why, "alice is no one special without a group");
        assertTrue(why.startsWith("uid 1000 (alice) may not use the control socket " + SOCKET + ": it is for root only"), why);
        assertTrue(why.contains("control-socket.group"), "names the key that would let her in: " + why);

        accounts.agentUid = 998;   // an agent run as svc: svc may talk to its own agent
        assertNull(a.refusal(a.caller("svc", "svc")));
        assertNotNull(a.refusal(a.caller("bob", "bob")));
    }

    @Test
    void withAGroupItsMembersToo() {
        ControlAccess a = new ControlAccess(SOCKET, "vmmig", accounts);
        assertEquals("rw-rw----", a.mode());
        assertNull(a.refusal(a.caller("root", "root")), "root always");
        assertNull(a.refusal(a.caller("alice", "alice")), "alice is in vmmig in the group database");
        assertNull(a.refusal(a.caller("bob", "vmmig")), "a process whose group is vmmig (sg vmmig, setpriv --regid)");
        String why = a.refusal(a.caller("bob", "bob"));
        assertNotNull(why);
        assertEquals("uid 1001 (bob) may not use the control socket " + SOCKET + ": it is for root and the members of group vmmig"
                + " (control-socket.group)", why);
        assertNotNull(a.refusal(a.caller("nobody", "nogroup")));
    }

    @Test
    void aCallerWhoseNameMapsToNoIdIsNobodySpecial() {
        ControlAccess a = new ControlAccess(SOCKET, "vmmig", accounts);
        ControlCaller ghost = a.caller("ghost", "ghosts");   // deleted between connect and lookup
        assertEquals(-1, ghost.uid());
        assertEquals(-1, ghost.gid());
        accounts.agentUid = -1;   // -1 never matches the agent's user
        assertNotNull(a.refusal(ghost));
        accounts.agentUid = 0;
        assertNotNull(a.refusal(ghost));
    }

    @Test
    void aMissingGroupLetsOnlyRootIn() {
        ControlAccess a = new ControlAccess(SOCKET, "deleted-group", accounts);
        assertNull(a.refusal(a.caller("root", "root")));
        assertNotNull(a.refusal(a.caller("alice", "alice")));
    }

    @Test
    void theSystemDatabaseKnowsRootAndNumbers() {
        LocalAccounts sys = LocalAccounts.system();
        assertEquals(OptionalInt.of(0), sys.uid("root"));
        assertEquals(OptionalInt.of(0), sys.gid("root"));
        assertEquals(OptionalInt.of(4242), sys.uid("4242"), "a uid without a name, as the JDK writes it");
        assertEquals(OptionalInt.empty(), sys.uid("no-such-user-vmmig"));
        assertTrue(sys.groupsOf("root", 0).contains(0));
    }

    @Test
    void theAgentsUidIsTheProcesssOwn() throws Exception {
        assertEquals(java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:uid"), LocalAccounts.system().agentUid());
    }

    @Test
    void callerAsIdWritesIt() {
        ControlCaller c = new ControlCaller(1000, "alice", 990, "vmmig");
        assertEquals("uid 1000 (alice)", c.describe());
        assertEquals("uid=1000(alice) gid=990(vmmig)", c.audit());
    }
}
